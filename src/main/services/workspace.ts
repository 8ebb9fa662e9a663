import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Where a project's artifacts live on disk: one folder per project under the
 * workspace, holding the imported teacher, one folder per run (transfer set,
 * checkpoints, student, report, events) and the default exports folder.
 */
export class Workspace {
  constructor(readonly root: string) {}

  projectDir(projectId: string): string {
    return path.join(this.root, projectId);
  }

  teacherDir(projectId: string): string {
    return path.join(this.projectDir(projectId), 'teacher');
  }

  runDir(projectId: string, runId: string): string {
    return path.join(this.projectDir(projectId), 'runs', runId);
  }

  exportsDir(projectId: string): string {
    return path.join(this.projectDir(projectId), 'exports');
  }

  /** A path in the exports folder named after `base` that does not exist yet (base, base-2, ...). */
  async freshExportPath(projectId: string, base: string, extension: string): Promise<string> {
    const dir = this.exportsDir(projectId);
    await fs.mkdir(dir, { recursive: true });
    const safe = base.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'export';
    for (let n = 1; ; n++) {
      const candidate = path.join(dir, `${safe}${n > 1 ? `-${n}` : ''}${extension}`);
      if (!existsSync(candidate)) return candidate;
    }
  }
}

export function newProjectId(): string {
  return `p-${randomBytes(5).toString('hex')}`;
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${stamp}-${randomBytes(2).toString('hex')}`;
}
