import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/*
 * V8's sampling CPU profiler, the one behind `node --cpu-prof`, driven from
 * inside the process so that a profile covers exactly one scenario's load and
 * not the start-up (module loading, migrations, key generation) around it.
 * The files are the same .cpuprofile format: open them in Chrome DevTools.
 */
let session: Session | undefined;

export async function startProfile(): Promise<void> {
  session ??= new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 1 ms between samples, as --cpu-prof-interval's default.
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
}

export async function stopProfile(file: string): Promise<string> {
  if (!session) throw new Error('no profile is running');
  const { profile } = await session.post('Profiler.stop');
  await session.post('Profiler.disable');
  session.disconnect();
  session = undefined;
  writeFileSync(file, JSON.stringify(profile));
  return file;
}
