import { BrowserWindow } from 'electron';
import { promises as fs } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { PdfPrinter } from '../services/deps.js';

/**
 * PDF export in the desktop app: the report loaded in a hidden, sandboxed
 * window with JavaScript off, printed with Chromium's printToPDF.
 */
export const electronPdfPrinter: PdfPrinter = {
  name: 'Electron printToPDF',
  async print(htmlFile, pdfFile) {
    const window = new BrowserWindow({
      show: false,
      webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: false },
    });
    try {
      await window.loadURL(pathToFileURL(htmlFile).href);
      const pdf = await window.webContents.printToPDF({ printBackground: true, pageSize: 'A4' });
      const tmp = `${pdfFile}.partial`;
      await fs.writeFile(tmp, pdf);
      await fs.rename(tmp, pdfFile);
    } finally {
      window.destroy();
    }
  },
};
