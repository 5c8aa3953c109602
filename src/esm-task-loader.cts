/**
 * The file piscina's threads load when a pool's task lives in an ES module (src/esm-task.ts).
 * piscina loads its task file with require() before it tries import(), and Node 26's require()
 * of an ES module (every .ts file of this package) now and then aborts the whole process in
 * ModuleWrap::CreateRequiredModuleFacade. This file is CommonJS, so require() loads it plainly;
 * it loads the task module, named in the pool's workerData, with import().
 */
import type { EsmTaskData } from './esm-task.ts';

const { workerData } = require('node:worker_threads') as { workerData: EsmTaskData };

let handler: ((task: unknown) => unknown) | null = null;

module.exports = async function runEsmTask(task: unknown): Promise<unknown> {
  handler ??= ((await import(workerData.taskModule)) as { default: (task: unknown) => unknown }).default;
  return handler(task);
};
