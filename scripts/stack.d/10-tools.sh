# shellcheck shell=bash
# Verification tools a user of this field has: kcat (Debian), avro-tools (Maven Central) and
# promtool (Debian's prometheus package; scripts/promtool fetches it on first use).
# Not a service: `scripts/stack up` and `install` call install_tools before the components.

AVRO_TOOLS_VERSION=${MWINGEST_AVRO_TOOLS_VERSION:-1.12.1}
AVRO_TOOLS_JAR=$TOOLS/avro-tools.jar # a stable path: tests use it

kcat_path() { command -v kcat || command -v kafkacat; }

install_tools() {
  if ! kcat_path >/dev/null; then
    # Debian names the package kcat (bookworm and later) or kafkacat (older releases)
    apt_install kcat || apt_install kafkacat || die "could not install kcat (Debian package kcat or kafkacat)"
  fi
  "$STACK_D/../promtool" --version >/dev/null || die "could not install promtool (see scripts/promtool)"
  local fingerprint="avro-tools $AVRO_TOOLS_VERSION"
  if [ -f "$AVRO_TOOLS_JAR" ] && is_installed avro-tools "$fingerprint"; then return 0; fi
  require_command java openjdk-17-jre-headless
  require_command mvn maven
  say "installing avro-tools $AVRO_TOOLS_VERSION into $AVRO_TOOLS_JAR"
  local tmp=$TOOLS/.avro-tools.tmp log=$LOGS/install-avro-tools.log
  rm -rf "$tmp"
  maven dependency:copy -Dartifact="org.apache.avro:avro-tools:$AVRO_TOOLS_VERSION" \
    -DoutputDirectory="$tmp" -Dmdep.stripVersion=true >"$log" 2>&1 || {
    tail -n 30 "$log" >&2
    die "could not download avro-tools $AVRO_TOOLS_VERSION from Maven Central (full log: $log)"
  }
  mv -f "$tmp/avro-tools.jar" "$AVRO_TOOLS_JAR" # same file system: readers never see half a jar
  rm -rf "$tmp"
  mark_installed avro-tools "$fingerprint"
}

env_tools() {
  printf 'export MWINGEST_AVRO_TOOLS_JAR=%q\n' "$AVRO_TOOLS_JAR"
  printf 'export MWINGEST_KCAT=%q\n' "$(kcat_path || echo kcat)"
}
