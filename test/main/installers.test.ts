import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { APP_PAGE_URL, resolveAppFile } from '../../src/main/app-files.js';
import { APP_CSP } from '../../src/shared/csp.js';
import electronViteConfig from '../../electron.vite.config.js';

interface BuilderConfig {
  appId: string;
  asar?: boolean;
  disableAsarIntegrity?: boolean;
  files: string[];
  extraMetadata: { main: string };
  electronFuses?: Record<string, boolean>;
  directories: { buildResources: string };
  linux: { target: string[]; icon: string; files?: string[] };
  win: { target: string[]; icon: string; files?: string[] };
  mac: { target: string[]; icon: string; files?: string[] };
}

/** A glob as electron-builder reads it (`**` any path, `*` within one folder), as a RegExp. */
function globRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '.*')}$`);
}

const config = JSON.parse(readFileSync('electron-builder.json', 'utf8')) as BuilderConfig;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

/** electron-builder's own checks of a configuration (in app-builder-lib, which electron-builder depends on). */
const require = createRequire(createRequire(import.meta.url).resolve('electron-builder/package.json'));
const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  validateConfiguration(config: unknown, debug: { isEnabled: boolean; add(): void }): Promise<void>;
};
const scheme = require('app-builder-lib/scheme.json') as {
  definitions: { FuseOptionsV1: { properties: Record<string, unknown> } };
};

/** The entries electron-vite builds for the main process and the preload script (electron.vite.config.ts). */
type Entries = { build: { rolldownOptions: { input: Record<string, string> } } };
const mainEntries = Object.keys((electronViteConfig.main as Entries).build.rolldownOptions.input);
const preloadEntries = Object.keys((electronViteConfig.preload as Entries).build.rolldownOptions.input);
const rendererOut = path.relative('.', String(electronViteConfig.renderer?.build?.outDir));

describe('installer configuration (electron-builder cannot run here without the Electron binary)', () => {
  it('is accepted by the installed electron-builder, which refuses unknown or misplaced keys', async () => {
    const debug = { isEnabled: false, add: () => undefined };
    await expect(validateConfiguration(config, debug)).resolves.toBeUndefined();
    // The check is real: a misspelt fuse is refused.
    await expect(
      validateConfiguration({ ...config, electronFuses: { runAsNod: false } }, debug),
    ).rejects.toThrow(/electronFuses/);
  });

  it('sets the hardening fuses; runAsNode stays on only while the app forks workers as Node', () => {
    // The desktop app's task workers fork their synthesis workers with child_process, which
    // runs the Electron binary as Node through ELECTRON_RUN_AS_NODE: with the runAsNode fuse
    // off, every run on a multi-core computer would fail. Once they no longer need it, the
    // fuse must go off (this test then asks for false).
    const launcher = readFileSync('src/main/electron/utility-launcher.ts', 'utf8');
    const forksAsNode = /ELECTRON_RUN_AS_NODE: '1'/.test(launcher);
    expect(config.electronFuses).toEqual({
      runAsNode: forksAsNode,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
    for (const fuse of Object.keys(config.electronFuses ?? {})) {
      expect(scheme.definitions.FuseOptionsV1.properties, fuse).toHaveProperty(fuse);
    }
    // The asar fuses need an asar archive and its integrity hash (electron-builder's defaults).
    expect(config.asar).not.toBe(false);
    expect(config.disableAsarIntegrity).not.toBe(true);
  });

  it('targets AppImage and deb, NSIS, and dmg', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.win.target).toEqual(['nsis']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(pkg.scripts['dist:linux']).toContain('electron-builder --linux');
  });

  it('has an icon large enough for every platform', () => {
    for (const icon of new Set([config.linux.icon, config.win.icon, config.mac.icon])) {
      expect(existsSync(icon)).toBe(true);
      const png = PNG.sync.read(readFileSync(icon));
      expect(Math.min(png.width, png.height)).toBeGreaterThanOrEqual(512);
    }
  });

  it('starts the main process electron-vite builds, with the workers and preload it loads beside it', () => {
    expect(config.extraMetadata.main.replace(/^\.\//, '')).toBe(pkg.main.replace(/^\.\//, ''));
    expect(pkg.main.replace(/^\.\//, '')).toBe('out/main/index.js');
    expect(mainEntries).toEqual(expect.arrayContaining(['index', 'task-worker', 'shard-worker']));
    expect(preloadEntries).toEqual(['index']);
    expect(rendererOut).toBe(path.join('out', 'renderer'));
    // src/main/index.ts finds them relative to out/main.
    const main = readFileSync('src/main/index.ts', 'utf8');
    expect(main).toContain("path.join(here, '../renderer')");
    expect(main).toContain("path.join(here, '../preload/index.cjs')");
    expect(main).toContain("path.join(here, 'task-worker.js')");
    expect(main).toContain("path.join(here, 'shard-worker.js')");
  });

  it('packs the built app and the example teacher, and leaves out sources and maps', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**', 'examples/**', 'package.json']));
    expect(config.files).toEqual(expect.arrayContaining(['!**/*.map', '!**/*.ts']));
    expect(existsSync('examples/mnist-lenet5/model.json')).toBe(true);
  });

  it("packs ONNX Runtime's native library for the installer's own system only (the package ships all five)", () => {
    const bin = 'node_modules/onnxruntime-node/bin/napi-v6';
    const systems = { linux: 'linux', win: 'win32', mac: 'darwin' } as const;
    for (const [platform, own] of Object.entries(systems) as [keyof typeof systems, string][]) {
      const excluded = config[platform].files ?? [];
      const folders = readdirSync(bin);
      expect(folders).toContain(own);
      for (const folder of folders) {
        const file = `${bin}/${folder}/x64/libonnxruntime.so.1`;
        const left = excluded.some((pattern) => globRegExp(pattern.slice(1)).test(file));
        expect(left, `${platform} installer, ${folder}`).toBe(folder !== own);
      }
    }
  });
});

describe('the built app (after `npm run build`)', () => {
  const built = existsSync('out/main/index.js') && existsSync(path.join(rendererOut, 'index.html'));

  it.skipIf(!built)('has every file the packaged app starts from', () => {
    for (const entry of mainEntries) expect(existsSync(`out/main/${entry}.js`), entry).toBe(true);
    for (const entry of preloadEntries) expect(existsSync(`out/preload/${entry}.cjs`), entry).toBe(true);
  });

  it.skipIf(!built)('serves the page and every file it references over app://, with the CSP', () => {
    const html = readFileSync(path.join(rendererOut, 'index.html'), 'utf8');
    expect(/http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]).toBe(APP_CSP);
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1] ?? '')
      .filter((ref) => !ref.startsWith('data:'));
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const ref of references) {
      const found = resolveAppFile(new URL(ref, APP_PAGE_URL).href, rendererOut);
      expect(found, ref).toMatchObject({ ok: true });
      if (found.ok) expect(existsSync(found.file), ref).toBe(true);
    }
  });
});
