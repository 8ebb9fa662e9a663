import type { Handlers, ServiceContext } from './context.js';

/**
 * The teacher import (`projects.setTeacher`): a worker validates the chosen
 * model and copies it into the project; the student is kept if it still fits.
 */
export function teacherHandlers(ctx: ServiceContext): Handlers<'projects.setTeacher'> {
  return {
    'projects.setTeacher': async ({ projectId, teacher: choice }) => {
      ctx.project(projectId);
      const reply = await ctx.runTask(
        { type: 'import-teacher', choice, teacherDir: ctx.workspace.teacherDir(projectId) },
        'teacher-imported',
      );
      const project = ctx.project(projectId);
      const catalog = await ctx.catalog(reply.summary.inputShape, reply.summary.numClasses);
      // Keep the student if it fits the new teacher, else take the smallest that does.
      const student = catalog.architectures.some((a) => a.name === project.student)
        ? project.student
        : (catalog.architectures[0]?.name ?? project.student);
      return ctx.save({ ...project, student, teacher: { choice, ref: reply.ref, summary: reply.summary } });
    },
  };
}
