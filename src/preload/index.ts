/**
 * The only bridge between the sandboxed page and the app: one function to
 * send a request and one to receive events, on two fixed channels. The page
 * gets no Electron or Node objects; the main process validates everything.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { DistillStudioBridge } from '../shared/api.js';
import { IPC_CHANNELS as CHANNELS } from '../shared/ipc-channels.js';

const bridge: DistillStudioBridge = {
  request: (request) => ipcRenderer.invoke(CHANNELS.request, request),
  onEvent(listener) {
    const wrapped = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(CHANNELS.event, wrapped);
    return () => ipcRenderer.removeListener(CHANNELS.event, wrapped);
  },
};

contextBridge.exposeInMainWorld('distillStudio', bridge);
