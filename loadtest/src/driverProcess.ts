/**
 * A generator child process: one `Driver`, commanded over IPC by `LoadGenerator`. Histograms travel
 * compressed; the process ends with its parent.
 */
import { Driver, type DriverOptions } from './driver.js';
import { encodeSnapshot, runLocally, type Command } from './generators.js';

let driver: Driver | null = null;

process.on('message', (message: { id: number; command: Command | { op: 'init'; options: DriverOptions } }) => {
  const { id, command } = message;
  let value: unknown = null;
  if (command.op === 'init') driver = new Driver(command.options);
  else if (driver !== null) {
    value = runLocally(driver, command);
    if (command.op === 'snapshot') value = encodeSnapshot(driver.snapshot());
  }
  process.send!({ id, value: value ?? null });
});
process.on('disconnect', () => process.exit(0));
