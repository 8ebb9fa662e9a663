import { app, dialog, Menu, shell, type MenuItemConstructorOptions } from 'electron';

/** The application menu: standard roles plus the workspace folder and an About box. */
export function buildMenu(options: { workspace: string }): Menu {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open projects folder', click: () => void shell.openPath(options.workspace) },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: '&Help',
      submenu: [
        {
          label: 'About Distill Studio',
          click: () =>
            void dialog.showMessageBox({
              type: 'info',
              title: 'About Distill Studio',
              message: `Distill Studio ${app.getVersion()}`,
              detail:
                'Compresses a trained image classifier into a smaller one without its training data (data-free knowledge distillation, Wang 2021). Everything runs on this computer.',
            }),
        },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
