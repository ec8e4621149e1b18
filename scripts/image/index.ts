// `npm run image`: builds localhost/nodeheal:dev with podman (installing podman, runc and
// mmdebstrap first when run as root) and prints its name and size.
// Options: --if-stale (skip when nothing changed), --refresh-base (rebuild the Debian bases).
import { say } from '../../test/stack/say.ts';
import { buildImage } from './build.ts';

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

try {
  const result = await buildImage({
    ifStale: process.argv.includes('--if-stale'),
    refreshBase: process.argv.includes('--refresh-base'),
  });
  say(
    `${result.built ? 'built' : 'up to date:'} ${result.image} in ${result.seconds.toFixed(1)} s ` +
      `(runtime base ${mb(result.runtimeBaseSize)}, build base ${mb(result.baseSize)})`,
  );
  console.log(`${result.image} ${mb(result.size)} (${result.size} bytes)`);
} catch (error) {
  process.stderr.write(`image: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
