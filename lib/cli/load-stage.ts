/**
 * Loads a pipeline stage on first use. compile and patch pull in the C front
 * end and analysis; keygen, bundle, verify and apply must keep working even
 * when those fail to load, so they are imported only by the commands that
 * need them.
 */
export async function loadStage<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const err = new Error(`cannot load ${name}: ${(e as Error).message}`);
    err.cause = e;
    throw err;
  }
}
