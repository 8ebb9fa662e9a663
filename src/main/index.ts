/**
 * The desktop app's main process: one window, the menu, the IPC handler
 * that hands validated requests to the services, and the services' workers
 * as utility processes. All engine work runs in those workers.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell } from 'electron';
import Store from 'electron-store';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_CHANNELS } from '../shared/ipc-channels.js';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, appPageUrl, appProtocolHandler } from './app-files.js';
import { handleIpcRequest } from './ipc-handler.js';
import {
  denyPermissions,
  isAllowedExternalLink,
  isAllowedNavigation,
  secureWebPreferences,
} from './security.js';
import { electronDialogs } from './electron/dialogs.js';
import { buildMenu } from './electron/menu.js';
import { electronPdfPrinter } from './electron/print-pdf.js';
import { utilityLauncher } from './electron/utility-launcher.js';
import { Services } from './services/services.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(here, '../renderer');
const appUrl = appPageUrl({ isPackaged: app.isPackaged, devServerUrl: process.env['ELECTRON_RENDERER_URL'] });

// The page is served from app://, registered before 'ready' as Electron requires.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

if (!app.requestSingleInstanceLock()) app.quit();

function createServices(store: Store<Record<string, unknown>>, workerEnv: Record<string, string>): Services {
  return new Services({
    store: { get: (key) => store.get(key), set: (key, value) => store.set(key, value) },
    workspace: path.join(app.getPath('documents'), 'Distill Studio'),
    launch: utilityLauncher(workerEnv),
    taskEntry: path.join(here, 'task-worker.js'),
    shell: 'electron',
    version: app.getVersion(),
    dialogs: electronDialogs,
    pdf: electronPdfPrinter,
  });
}

let services: Services | undefined;
let window: BrowserWindow | undefined;

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 700,
    title: 'Distill Studio',
    show: false,
    webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
  });
  win.once('ready-to-show', () => win.show());
  // No navigation away from the app and no new windows; listed links open in the user's browser.
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url, appUrl)) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadURL(appUrl);
  return win;
}

void app.whenReady().then(() => {
  protocol.handle(APP_SCHEME, appProtocolHandler(rendererDir));
  denyPermissions(session.defaultSession);
  const root = app.getAppPath();
  const workerEnv = {
    DISTILL_STUDIO_ROOT: root,
    DISTILL_SHARD_WORKER: path.join(here, 'shard-worker.js'),
  };
  const store = new Store<Record<string, unknown>>({ name: 'distill-studio' });
  try {
    services = createServices(store, workerEnv);
  } catch (error) {
    // E.g. a project list written by a newer version: say so and leave it untouched.
    dialog.showErrorBox(
      'Distill Studio cannot open its project list',
      `${error instanceof Error ? error.message : String(error)}.\n\nInstall the newest version of Distill Studio; your projects were not changed.`,
    );
    app.quit();
    return;
  }
  const live = services;

  ipcMain.handle(IPC_CHANNELS.request, async (event, payload: unknown) => {
    const frame = event.senderFrame;
    const sender = frame ? { url: frame.url, isMainFrame: frame === event.sender.mainFrame } : null;
    return handleIpcRequest(live, sender, payload, appUrl);
  });
  live.subscribe((event) => {
    for (const win of BrowserWindow.getAllWindows()) win.webContents.send(IPC_CHANNELS.event, event);
  });

  Menu.setApplicationMenu(buildMenu({ workspace: path.join(app.getPath('documents'), 'Distill Studio') }));
  window = createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createWindow();
  });
});

app.on('second-instance', () => {
  if (window) {
    if (window.isMinimized()) window.restore();
    window.focus();
  }
});

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('before-quit', () => services?.shutdown());
