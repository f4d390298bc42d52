import { serviceLogger } from '../../../config/logging.js';
import { resolveTemporalCli } from '../../temporal-cli.js';
import { resolveTemporalServer } from '../../temporal-server.js';

/**
 * Prints where Temporal's pinned binaries are on this machine (built with Go the first time), for build-images.sh to
 * copy into the local Temporal image: the same binaries `TEMPORAL_TOPOLOGY=server npm start` runs.
 */
const log = serviceLogger('compose-images');
const [server, cli] = await Promise.all([resolveTemporalServer(log), resolveTemporalCli(log)]);
process.stdout.write(JSON.stringify({ ...server, cli }) + '\n');
