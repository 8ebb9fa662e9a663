import type { SettingField } from '../../shared/settings.js';
import { SYNTHESIS_METHODS } from '../../engine/synthesis/registry.js';
import type { Command } from '../command.js';

function describeField(name: string, field: SettingField): string {
  const range =
    field.kind === 'number'
      ? ` [${field.min}..${field.max}]`
      : field.kind === 'choice'
        ? ` [${field.choices.join('|')}]`
        : '';
  return `    ${name.padEnd(18)} ${field.description} (default: ${String(field.default) || 'none'}${range})`;
}

/** `methods`: the synthesis methods and every setting, from their declarations. */
export const methodsCommand: Command = {
  name: 'methods',
  summary: 'List the transfer-set synthesis methods and their settings (for distill --method / --set).',
  usage: '',
  help: 'Lists each synthesis method with a plain description and every setting with its default and range.',
  options: {},
  async run() {
    const methods = [...SYNTHESIS_METHODS.values()];
    const text = methods
      .map((m) =>
        [
          `${m.name}: ${m.title}`,
          `  ${m.description}`,
          '  settings (--set NAME=VALUE):',
          ...Object.entries(m.fields).map(([n, f]) => describeField(n, f)),
        ].join('\n'),
      )
      .join('\n\n');
    const json = methods.map((m) => ({
      name: m.name,
      title: m.title,
      description: m.description,
      fields: m.fields,
    }));
    return { json, text };
  },
};
