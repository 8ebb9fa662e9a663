import type { ApiReply, AppEvent } from '../../shared/api.js';
import type { WorkerLauncher } from '../../engine/job/launcher.js';
import type { KeyValueStore } from './project-store.js';

/** Native dialogs (the desktop app); browser mode has none and the UI asks for paths. */
export interface NativeDialogs {
  open(kind: 'model-folder' | 'onnx-file' | 'weights-file' | 'dataset'): Promise<string | null>;
  saveFile(defaultPath: string, filter: { name: string; extensions: string[] }): Promise<string | null>;
  chooseFolder(defaultPath: string): Promise<string | null>;
}

/** Turns a report HTML file into a PDF (Electron's printToPDF, or a headless Chromium). */
export interface PdfPrinter {
  /** Words for the UI, e.g. "Electron printToPDF". */
  name: string;
  print(htmlFile: string, pdfFile: string): Promise<void>;
}

/** What the host (Electron shell or browser mode) hands the services. */
export interface ServiceDeps {
  store: KeyValueStore;
  workspace: string;
  launch: WorkerLauncher;
  /** Path of the task worker entry (src/worker/task-worker.ts, or its build). */
  taskEntry: string;
  shell: 'electron' | 'browser';
  version: string;
  dialogs?: NativeDialogs;
  pdf?: PdfPrinter | null;
}

/**
 * What a transport (the IPC gate, the browser-mode server) needs from the
 * services: a Services instance, or a fake in tests.
 */
export interface ServedServices {
  handle(raw: unknown): Promise<ApiReply>;
  subscribe(listener: (event: AppEvent) => void): () => void;
}
