import { existsSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

interface BuilderConfig {
  appId: string;
  files: string[];
  extraMetadata: { main: string };
  directories: { buildResources: string };
  linux: { target: string[]; icon: string };
  win: { target: string[]; icon: string };
  mac: { target: string[]; icon: string };
}

const config = JSON.parse(readFileSync('electron-builder.json', 'utf8')) as BuilderConfig;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

describe('installer configuration (electron-builder cannot run here without the Electron binary)', () => {
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

  it('packs the built app and the example teacher, and starts the built main process', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**', 'examples/**', 'package.json']));
    expect(config.extraMetadata.main.replace(/^\.\//, '')).toBe(pkg.main.replace(/^\.\//, ''));
    expect(pkg.main.replace(/^\.\//, '')).toBe('out/main/index.js');
    expect(existsSync('examples/mnist-lenet5/model.json')).toBe(true);
  });
});
