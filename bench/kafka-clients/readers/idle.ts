/** Does nothing: the CPU time and memory of `node --import tsx` itself, to subtract from the readers'. */
import { report } from './harness.js';

report({ client: 'idle', records: 0, valueBytes: 0, readMs: 0 });
