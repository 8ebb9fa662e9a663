import { BrowserWindow, dialog } from 'electron';
import type { NativeDialogs } from '../services/deps.js';

/** The operating system's file dialogs, attached to the focused window. */
export const electronDialogs: NativeDialogs = {
  async open(kind) {
    const window = BrowserWindow.getFocusedWindow();
    const options: Electron.OpenDialogOptions =
      kind === 'weights-file'
        ? { title: 'Choose the weights file', properties: ['openFile'] }
        : kind === 'onnx-file'
          ? {
              title: 'Choose the model file (.onnx)',
              properties: ['openFile'],
              filters: [{ name: 'ONNX model', extensions: ['onnx'] }],
            }
          : kind === 'model-folder'
            ? {
                title: 'Choose the TensorFlow.js model folder (with model.json)',
                properties: ['openDirectory'],
              }
            : {
                title: 'Choose the test set (a folder or a file)',
                properties: ['openDirectory', 'openFile'],
              };
    const result = window
      ? await dialog.showOpenDialog(window, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  },
  async saveFile(defaultPath, filter) {
    const window = BrowserWindow.getFocusedWindow();
    const options: Electron.SaveDialogOptions = {
      defaultPath: `${defaultPath}.${filter.extensions[0]}`,
      filters: [filter],
    };
    const result = window
      ? await dialog.showSaveDialog(window, options)
      : await dialog.showSaveDialog(options);
    return result.canceled ? null : (result.filePath ?? null);
  },
  async chooseFolder(defaultPath) {
    const window = BrowserWindow.getFocusedWindow();
    const options: Electron.SaveDialogOptions = {
      title: 'Export the student model as a folder',
      defaultPath,
      buttonLabel: 'Export',
    };
    const result = window
      ? await dialog.showSaveDialog(window, options)
      : await dialog.showSaveDialog(options);
    return result.canceled ? null : (result.filePath ?? null);
  },
};
