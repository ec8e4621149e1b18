// Installs the Debian packages and builds the Go binaries the stack needs, with progress, before
// the test runner starts (so that a first run shows what it is doing instead of a silent wait).
import { browserBinaries, debianBinaries, ensureDebianPackages } from './debian.ts';
import { ensureGoBinaries, goComponents, type GoComponentName } from './go-build.ts';
import { ensureImage } from './podman.ts';
import { say } from './say.ts';

const started = Date.now();
ensureDebianPackages({ ...debianBinaries, ...browserBinaries });
await ensureGoBinaries(Object.keys(goComponents) as GoComponentName[]);
await ensureImage();
say(`prerequisites ready (${((Date.now() - started) / 1000).toFixed(0)} s)`);
