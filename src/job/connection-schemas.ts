import { z } from 'zod';

/**
 * The parts of a job definition that say how to reach the services: the file system (a local
 * directory, or WebHDFS with Kerberos and HA NameNodes) and Kafka's SASL settings and raw client
 * properties. `config.ts` puts them into the job's schema.
 */

export const localFileSystem = z.strictObject({
  type: z.literal('local'),
  /** Local directory that stands for the HDFS root `/`. */
  root: z.string().min(1),
});

const webhdfsUrl = z.url({ protocol: /^https?$/ });

const kerberosSchema = z.strictObject({
  /** The client principal, e.g. `mwingest@EXAMPLE.ORG`; required with `keytab`. */
  principal: z.string().min(1).optional(),
  /** Keytab file of `principal` (mwingest runs kinit into a private ticket cache). */
  keytab: z.string().min(1).optional(),
  /** Ticket cache to use instead of `KRB5CCNAME` (e.g. `FILE:/tmp/krb5cc_mwingest`), without a keytab. */
  ticketCache: z.string().min(1).optional(),
  /** krb5.conf to use instead of the system's. */
  krb5Config: z.string().min(1).optional(),
});

export const hdfsFileSystem = z
  .strictObject({
    type: z.literal('hdfs'),
    /** WebHDFS base URL of the NameNode, e.g. `http://an-master1001:9870`. Or give `namenodes`. */
    url: webhdfsUrl.optional(),
    /** HA: the WebHDFS URLs of every NameNode of the nameservice, in the order to try them. */
    namenodes: z.array(webhdfsUrl).min(1, 'list at least one NameNode').optional(),
    /** HA: the nameservice's name (e.g. `analytics-hadoop`), for messages and metrics. */
    nameservice: z.string().min(1).optional(),
    /** `user.name` for simple authentication. @defaultValue "hdfs" */
    user: z.string().min(1).default('hdfs'),
    /** Name of the environment variable that holds a delegation token, if any. */
    delegationTokenEnv: z.string().min(1).optional(),
    /** Kerberos (SPNEGO) with delegation tokens fetched and renewed by mwingest. */
    kerberos: kerberosSchema.optional(),
    /** PEM file of the CA(s) that signed the NameNodes' and DataNodes' certificates (https). */
    caFile: z.string().min(1).optional(),
  })
  .superRefine((value, context) => {
    if ((value.url === undefined) === (value.namenodes === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'give either url (one NameNode) or namenodes (every NameNode of an HA nameservice)',
      });
    }
    if (value.kerberos !== undefined && value.delegationTokenEnv !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['delegationTokenEnv'],
        message:
          'with kerberos, mwingest fetches and renews its own delegation tokens: remove delegationTokenEnv',
      });
    }
    if (value.kerberos?.keytab !== undefined && value.kerberos.principal === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['kerberos', 'principal'],
        message: 'a keytab needs the principal whose keys it holds',
      });
    }
  });

export const saslSchema = z.discriminatedUnion('mechanism', [
  z.strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    /** Name of the environment variable holding the password (never the password itself). */
    passwordEnv: z.string().min(1),
  }),
  z.strictObject({
    /** Kerberos: librdkafka logs in from the keytab itself (it runs kinit, again before the ticket expires). */
    mechanism: z.literal('gssapi'),
    principal: z.string().min(1),
    keytab: z.string().min(1),
    /** The brokers' service name (their principals are `<serviceName>/<broker host>@REALM`). @defaultValue "kafka" */
    serviceName: z.string().min(1).default('kafka'),
  }),
  z.strictObject({
    /** OAuth 2 client credentials (OIDC): librdkafka fetches and refreshes the token. */
    mechanism: z.literal('oauthbearer'),
    tokenEndpointUrl: z.url({ protocol: /^https?$/ }),
    clientId: z.string().min(1),
    /** Name of the environment variable holding the client secret (never the secret itself). */
    clientSecretEnv: z.string().min(1),
    scope: z.string().min(1).optional(),
  }),
]);

/**
 * librdkafka properties mwingest sets itself, refused in `kafka.properties` (why, for the message).
 * The reads' correctness depends on them, or a dedicated job key says the same thing.
 */
export const KAFKA_OWNED_PROPERTIES: Record<string, string> = {
  'bootstrap.servers': 'use kafka.brokers',
  'client.id': 'use kafka.clientId',
  'group.id': 'use kafka.groupId',
  'security.protocol': 'set by kafka.ssl and kafka.sasl',
  'sasl.mechanism': 'use kafka.sasl.mechanism',
  'sasl.mechanisms': 'use kafka.sasl.mechanism',
  'sasl.username': 'use kafka.sasl',
  'sasl.password': 'use kafka.sasl.passwordEnv (a secret never sits in the job file)',
  'sasl.oauthbearer.client.secret': 'use kafka.sasl.clientSecretEnv (a secret never sits in the job file)',
  'ssl.key.password': 'not supported: give an unencrypted kafka.ssl.keyFile readable only by mwingest',
  'enable.auto.commit': 'mwingest commits offsets itself, to HDFS',
  'enable.auto.offset.store': 'mwingest commits offsets itself, to HDFS',
  'auto.offset.reset': 'an offset outside the log must be reported (MWI_OFFSETS_EXPIRED), never skipped',
  'enable.partition.eof': 'reads of ranges ending in absent offsets need it',
  'isolation.level': 'reads must reach the high watermark (read_uncommitted)',
  dr_cb: 'the producer needs its delivery reports',
};

export const kafkaProperties = z
  .record(
    z
      .string()
      .regex(/^[a-z][a-z0-9._]*$/, 'expected a librdkafka property name such as socket.keepalive.enable'),
    z.union([z.string(), z.number(), z.boolean()]),
  )
  .superRefine((properties, context) => {
    for (const key of Object.keys(properties)) {
      const why = KAFKA_OWNED_PROPERTIES[key];
      if (why !== undefined) {
        context.addIssue({ code: 'custom', path: [key], message: `mwingest sets ${key} itself: ${why}` });
      }
    }
  });
