/**
 * Piscina options for a pool whose task is the default export of an ES module: the pool loads
 * esm-task-loader.cts, which imports the module (see there for why piscina is not given the
 * module itself).
 */
export interface EsmTaskData {
  /** The task module's file URL. */
  taskModule: string;
}

export function esmTaskPool(taskModule: URL): { filename: string; workerData: EsmTaskData } {
  return { filename: new URL('./esm-task-loader.cts', import.meta.url).href, workerData: { taskModule: taskModule.href } };
}
