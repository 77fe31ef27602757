/** Runs the real server as a child process, the way `npm start` does, and waits until it listens. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { repositoryRoot } from '../../src/main.js';

export type ServerProcess = { child: ChildProcessWithoutNullStreams; output: () => string; url: string; demoToken: string; adminToken: string };

export const titrateBin = path.join(repositoryRoot, 'server/src/bin/titrate.ts');

export function baseEnvironment(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp' };
}

export function startProcess(environment: Record<string, string>, timeoutMs = 120_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', titrateBin, 'serve'], {
    cwd: repositoryRoot,
    env: { ...baseEnvironment(), PORT: '0', DEMO_FRAMES_PER_BUCKET: '1', ...environment },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      const url = /listening on (http:\/\/[^\s"]+)/.exec(output)?.[1];
      const demoToken = /Demo token\s+(\S+)/.exec(output)?.[1];
      const adminToken = /Admin token\s+(\S+)/.exec(output)?.[1];
      if (url !== undefined && demoToken !== undefined && adminToken !== undefined) {
        clearTimeout(timer);
        resolve({ child, output: () => output, url, demoToken, adminToken });
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
}

export const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
