// Starts the built `sesame start-dev` on free ports with a data directory of its own, and reads
// the invitation link it prints for the demo producer.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const START_TIMEOUT_MS = 30_000;

/** A port nobody listens on right now, on the loopback interface. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `binary start-dev` from `repositoryRoot` (where it finds config/realms/) and resolves
 * once it printed the invitation link, with the URLs the test needs and a `stop` function.
 */
export async function startSesame(binary, repositoryRoot) {
  const [httpPort, portalPort] = [await freePort(), await freePort()];
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sesame-browser-'));
  const child = spawn(binary, ['start-dev'], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      SESAME_HTTP_PORT: String(httpPort),
      SESAME_DEMO_PORTAL_PORT: String(portalPort),
      SESAME_DATA_DIR: dataDir,
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const invitation = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no invitation link within ${START_TIMEOUT_MS} ms:\n${output}`)),
      START_TIMEOUT_MS,
    );
    const read = (chunk) => {
      output += chunk.toString();
      const match = output.match(/^\s+open\s+(http:\/\/\S+action-token\?key=\S+)\s*$/m);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sesame start-dev exited (${code ?? signal}) before the link:\n${output}`));
    });
  });

  return {
    invitation,
    sesameUrl: `http://127.0.0.1:${httpPort}`,
    portalUrl: `http://127.0.0.1:${portalPort}/`,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        let timer;
        const timeout = new Promise((resolve) => {
          timer = setTimeout(resolve, 5_000);
        });
        await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
        }
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
