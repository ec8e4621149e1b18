// npm scripts must run on the pinned Node 24 LTS (the `node` devDependency puts it first on PATH
// for npm scripts); say so clearly instead of failing later in an odd way.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  console.error(
    `nodeheal needs Node.js 24 LTS, but this is ${process.version}. Run it through npm ` +
      '(`npm ci && npm test`), which uses the pinned node@24 from node_modules/.bin.',
  );
  process.exit(1);
}
