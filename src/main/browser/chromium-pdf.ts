import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { PdfPrinter } from '../services/deps.js';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/**
 * PDF export outside Electron: prints the report with a headless Chromium
 * installed on this computer (CHROMIUM_PATH, or a usual install location).
 * Returns null when there is none; the UI then says why PDF is unavailable.
 */
export function chromiumPdfPrinter(executable = findChromium()): PdfPrinter | null {
  if (!executable) return null;
  return {
    name: `headless Chromium (${executable})`,
    async print(htmlFile, pdfFile) {
      const tmp = `${pdfFile}.partial-${process.pid}`;
      const args = [
        '--headless',
        '--disable-gpu',
        '--no-pdf-header-footer',
        '--user-data-dir=' + `${tmp}-profile`,
        `--print-to-pdf=${tmp}`,
        pathToFileURL(htmlFile).href,
      ];
      // Chromium refuses to run as root with its sandbox (containers, CI).
      if (process.getuid?.() === 0) args.unshift('--no-sandbox');
      try {
        await new Promise<void>((resolve, reject) => {
          execFile(executable, args, { timeout: 120_000 }, (error) => (error ? reject(error) : resolve()));
        });
        const head = await fs.readFile(tmp).then((b) => b.subarray(0, 5).toString('latin1'));
        if (head !== '%PDF-') throw new Error('Chromium did not write a PDF');
        await fs.rename(tmp, pdfFile);
      } finally {
        await fs.rm(tmp, { force: true });
        await fs.rm(`${tmp}-profile`, { recursive: true, force: true });
      }
    },
  };
}

function findChromium(): string | undefined {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return CANDIDATES.find((c) => existsSync(c));
}
