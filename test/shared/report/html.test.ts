import { describe, expect, it } from 'vitest';
import { JobResultSchema } from '../../../src/shared/job.js';
import { formatCount } from '../../../src/shared/format.js';
import { REPORT_CSP, renderReportHtml, summarySentence } from '../../../src/shared/report/html.js';
import { escapeHtml } from '../../../src/shared/report/text.js';
import { niceTicks } from '../../../src/shared/report/svg.js';
import { CLASS_COUNTS, count, makeResult, section, STUDENT_ERRORS, TEACHER_ERRORS } from './fixture.js';

/** The numbers in a confusion table's cells, row by row, without the totals column. */
function confusionCells(html: string, model: string): number[][] {
  const start = html.indexOf(`<table class="confusion" data-model="${model}">`);
  const table = html.slice(start, html.indexOf('</table>', start));
  return [...table.matchAll(/<tbody>.*<\/tbody>/gs)]
    .flatMap((m) => m[0].split('</tr>'))
    .filter((row) => row.includes('<td'))
    .map((row) =>
      [...row.matchAll(/<td(?: class="zero")? style=[^>]*>(\d+)<\/td>/g)].map((m) => Number(m[1])),
    );
}

const hostile = '<script>alert(1)</script>';
const names = ['zero', hostile, 'a & b', '"quoted"', "it's", 'five', 'six', 'seven', 'eight', 'nine'];

describe('charts', () => {
  it('picks round axis ticks that cover the values', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.32, 2.31)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(5, 5).length).toBeGreaterThanOrEqual(2);
  });
});

describe('escapeHtml', () => {
  it('escapes markup, ampersands and both quotes', () => {
    expect(escapeHtml(`${hostile} & "x" 'y'`)).toBe(
      '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;',
    );
    expect(escapeHtml('plain text 123')).toBe('plain text 123');
  });
});

describe('renderReportHtml with a labelled test set', () => {
  const result = makeResult({
    classNames: names,
    warnings: ['Teacher file <img src=x onerror=alert(2)> looked odd'],
  });
  const html = renderReportHtml(result, {});

  it('is built from a schema-valid result', () => {
    expect(() => JobResultSchema.parse(result)).not.toThrow();
  });

  it('says in one sentence how much accuracy the student keeps and how much smaller it is', () => {
    // Teacher 93 and student 195 wrong answers out of 10,000: 99.07% and 98.05%; 61,706 / 15,426 parameters = 4x.
    const expected =
      "The student keeps 99.0% of the teacher's accuracy (98.05% against 99.07% on 10,000 labelled test images) with 4x fewer parameters.";
    expect(summarySentence(result)).toBe(expected);
    expect(html).toContain(escapeHtml(expected));
  });

  it('compares teacher and student in a table', () => {
    const table = section(html, 'comparison');
    for (const text of [
      '99.07%',
      '98.05%',
      'keeps 98.97%',
      '98.43%',
      '96.40%',
      '61.7k',
      '15.4k',
      '4x fewer',
      '846k',
      '212k',
      '244.1 KiB',
      '62.5 KiB',
      '3.9x smaller',
      '1.84 ms',
      '0.920 ms',
      '2x faster',
      '0.210 ms',
      '0.060 ms',
      '3.5x faster',
      'batches of 256',
    ]) {
      expect(table, text).toContain(text);
    }
  });

  it('draws one bar per class per model and labels the classes', () => {
    const chart = section(html, 'per-class');
    expect(count(chart, 'data-series="teacher"')).toBe(10);
    expect(count(chart, 'data-series="student"')).toBe(10);
    expect(chart).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('shows both confusion matrices with their counts', () => {
    const teacherCells = confusionCells(html, 'teacher');
    expect(teacherCells).toEqual(result.evaluation?.teacher.confusion);
    expect(confusionCells(html, 'student')).toEqual(result.evaluation?.student.confusion);
    // Row totals are printed too, with a thousands separator.
    expect(section(html, 'per-class')).toContain(`>${formatCount(CLASS_COUNTS[1])}</td>`);
  });

  it('draws the loss and metric curves with a point per epoch', () => {
    const curves = section(html, 'curves');
    expect(count(curves, '<svg')).toBe(2);
    expect(count(curves, '<circle data-series="loss"')).toBe(12);
    expect(count(curves, '<circle data-series="test accuracy"')).toBe(12);
    expect(curves).toContain('>Epoch<');
  });

  it('describes the transfer set', () => {
    const transfer = section(html, 'transfer-set');
    expect(count(transfer, 'data-series="images"')).toBe(10);
    for (const text of ['6,500', '87.34%', '1 min 36 s', '68.1 images/s', 'fit loss', '0.0421'])
      expect(transfer).toContain(text);
    expect(transfer).not.toContain('class="warning"');
    expect(transfer).toContain('samples.png');
    expect(transfer).not.toContain('<img');
  });

  it('records the settings needed to reproduce the run', () => {
    const settings = section(html, 'settings');
    for (const text of [
      'soft-target',
      'iterations',
      '300',
      'sha256:aa11',
      'sha256:bb22',
      'wasm',
      '0.1.0',
      '/home/ana/runs/demo',
      'mnist-digits',
      '(set for this run)',
    ]) {
      expect(settings).toContain(text);
    }
  });

  it('says which images the teacher labelled while distilling', () => {
    expect(section(html, 'settings')).toMatch(/Blended images \(teacher-labelled\)<\/th>\s*<td>off/);
    const changed = renderReportHtml(makeResult({ distill: { relabel: true, mixup: 0.5, fade: 0.25 } }), {});
    const settings = section(changed, 'settings');
    expect(settings).toContain('on, labelled by the teacher');
    expect(settings).toContain('50% of each batch');
    expect(settings).toContain('25% of each batch');
  });

  it("states what the method's settings decided for this teacher, escaped", () => {
    expect(section(html, 'settings')).not.toContain('Pull toward black');
    const note =
      "Pull toward black: on (weight 500; the teacher's training images had mean pixel value 0.131, mostly black)";
    const withNotes = renderReportHtml({ ...makeResult(), notes: [note, hostile] }, {});
    expect(JobResultSchema.parse({ ...makeResult(), notes: [note] }).notes).toEqual([note]);
    const settings = section(withNotes, 'settings');
    expect(settings).toContain(escapeHtml(note));
    expect(settings).not.toContain(hostile);
  });

  it('loads nothing from outside and declares a strict CSP', () => {
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`);
    expect(REPORT_CSP).toBe("default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<(script|link|iframe|object)/i);
    expect(html).not.toMatch(/src="(?!data:)/);
    expect(html).not.toMatch(/url\(/);
  });

  it('escapes every text taken from the result', () => {
    expect(html).not.toContain(hostile);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).not.toContain('"quoted"');
    expect(html).toContain('&quot;quoted&quot;');
    expect(html).toContain('a &amp; b');
    expect(html).toContain('it&#39;s');
  });

  it('embeds the sample grid as a data: URI when given, one label per row', () => {
    const withGrid = renderReportHtml(result, { gridPngBase64: 'iVBORw0KGgo=' });
    expect(withGrid).toContain('src="data:image/png;base64,iVBORw0KGgo="');
    expect(count(section(withGrid, 'transfer-set').split('grid-labels')[1] ?? '', '<span>')).toBe(10);
    // Something that is not base64 must not reach the attribute.
    expect(renderReportHtml(result, { gridPngBase64: '"><b>x' })).not.toContain('<img');
  });
});

/** A percentage with `digits` decimals, worked out here rather than by the report's formatter. */
function percent(numerator: number, denominator: number, digits: number): string {
  return `${((100 * numerator) / denominator).toFixed(digits)}%`;
}

/** The key figures under the summary, label to value. */
function keyFigureCards(html: string): Record<string, string> {
  return Object.fromEntries(
    [...html.matchAll(/<div class="value">([^<]*)<\/div><div class="label">([^<]*)<\/div>/g)].map((m) => [
      m[2],
      m[1],
    ]),
  );
}

describe('figures the report works out from the result', () => {
  // The fixture's test set: CLASS_COUNTS images per class, TEACHER_ERRORS and STUDENT_ERRORS wrong
  // answers per class, half of them (rounded down) labelled c+3 and the rest c+5. The expected
  // figures below are derived from those counts, not read from the result the report is given.
  const result = makeResult();
  const html = renderReportHtml(result, {});
  const total = CLASS_COUNTS.reduce((a, b) => a + b, 0);
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const models = [
    ['teacher', TEACHER_ERRORS],
    ['student', STUDENT_ERRORS],
  ] as const;

  it('gives each confusion row its total and each cell its share of the row, shaded by that share', () => {
    for (const [model, errors] of models) {
      const start = html.indexOf(`<table class="confusion" data-model="${model}">`);
      const table = html.slice(start, html.indexOf('</table>', start));
      CLASS_COUNTS.forEach((n, c) => {
        const e = errors[c]!;
        const cells: [number, number][] = [
          [c, n - e],
          [(c + 3) % 10, Math.floor(e / 2)],
          [(c + 5) % 10, e - Math.floor(e / 2)],
        ];
        for (const [p, k] of cells) {
          const tip = `true ${c}, predicted ${p}: ${k} of ${n} (${percent(k, n, 1)})`;
          expect(table, `${model} ${tip}`).toContain(`title="${tip}">${k}</td>`);
        }
        const shade = Math.round(((n - e) / n) * 100) / 100;
        expect(table, `${model} class ${c}`).toContain(
          `style="background:rgba(37,99,235,${shade});color:#fff" title="true ${c}, predicted ${c}:`,
        );
        expect(table, `${model} class ${c} total`).toContain(
          `<td class="total">${n.toLocaleString('en-US')}</td>`,
        );
      });
    }
  });

  it('draws each class bar at its share of right answers, in proportion from zero', () => {
    const chart = section(html, 'per-class');
    for (const [model, errors] of models) {
      const bars = [
        ...chart.matchAll(
          /<rect class="bar" data-series="(\w+)" data-index="(\d+)"[^>]*height="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g,
        ),
      ]
        .filter((m) => m[1] === model)
        .map((m) => ({ index: Number(m[2]), height: Number(m[3]), title: m[4] }));
      expect(bars.map((b) => b.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const accuracy = CLASS_COUNTS.map((n, c) => (n - errors[c]!) / n);
      // Pixels per unit of accuracy, from the first bar; the others must match to the 0.1 px drawn.
      const scale = bars[0]!.height / accuracy[0]!;
      bars.forEach((bar, c) => {
        expect(bar.title).toBe(
          `${c}, ${model}: ${percent(CLASS_COUNTS[c]! - errors[c]!, CLASS_COUNTS[c]!, 1)}`,
        );
        expect(Math.abs(bar.height - accuracy[c]! * scale), `${model} bar ${c}`).toBeLessThanOrEqual(0.15);
      });
      expect(scale).toBeGreaterThan(100);
    }
  });

  it('shows the accuracies, the accuracy kept and the compression as key figures', () => {
    const teacherRight = total - sum(TEACHER_ERRORS);
    const studentRight = total - sum(STUDENT_ERRORS);
    expect(keyFigureCards(html)).toEqual({
      'Student accuracy': percent(studentRight, total, 2),
      'Teacher accuracy': percent(teacherRight, total, 2),
      'Accuracy kept': percent(studentRight, teacherRight, 1),
      // 61,706 / 15,426 = 4.0003 parameters; 250,000 / 64,000 = 3.906 bytes.
      'Parameter compression': '4x',
      'Size compression': '3.9x',
    });
  });

  it('works out the accuracy kept from the two accuracies when the result does not state it', () => {
    const unstated = renderReportHtml({ ...result, accuracyRatio: null }, {});
    const kept = percent(total - sum(STUDENT_ERRORS), total - sum(TEACHER_ERRORS), 2);
    expect(kept).toBe('98.97%');
    expect(section(unstated, 'comparison')).toContain(`keeps ${kept}`);
    expect(keyFigureCards(unstated)['Accuracy kept']).toBe('99.0%');
    // And the stated ratio wins when there is one (it may come from more images than the confusion).
    expect(section(renderReportHtml({ ...result, accuracyRatio: 0.5 }, {}), 'comparison')).toContain(
      'keeps 50.00%',
    );
  });

  it("compares size, work and speed as the teacher's figure over the student's", () => {
    const table = section(html, 'comparison');
    // FLOPs 846k / 212k = 3.99; latency 1.84 / 0.92 = 2 and 0.21 / 0.06 = 3.5 (ms per image).
    expect(table).toMatch(
      /Operations \(FLOPs\) per image<\/th><td class="num">846k<\/td><td class="num">212k<\/td><td>4x fewer</,
    );
    expect(table).toMatch(
      /one at a time<\/th><td class="num">1.84 ms<\/td><td class="num">0.920 ms<\/td><td>2x faster</,
    );
    expect(table).toMatch(
      /batches of 256<\/th><td class="num">0.210 ms<\/td><td class="num">0.060 ms<\/td><td>3.5x faster</,
    );
    // A student slower and larger than its teacher is said to be so, not "0.5x faster".
    const slower = makeResult();
    const student = slower.evaluation!.student;
    student.latency = { ...student.latency!, msPerImageBatch1: 3.68 };
    slower.student.fileBytes = 500_000;
    const text = section(renderReportHtml(slower, {}), 'comparison');
    expect(text).toMatch(
      /one at a time<\/th><td class="num">1.84 ms<\/td><td class="num">3.68 ms<\/td><td>2x slower</,
    );
    expect(text).toContain('2x larger');
  });
});

describe('renderReportHtml without a labelled test set', () => {
  const result = makeResult({ withEvaluation: false, collapsed: true });
  const html = renderReportHtml(result, {});

  it('reports hold-out agreement and says no test set was given', () => {
    const expected =
      "No labelled test set was given, so the student was checked against the teacher instead: it gives the teacher's answer on 96.4% of 500 held-back synthesized images, with 4x fewer parameters.";
    expect(summarySentence(result)).toBe(expected);
    expect(html).toContain(escapeHtml(expected));
  });

  it('marks accuracy and latency as not measured and leaves out the confusion matrices', () => {
    expect(section(html, 'comparison')).toContain('not measured');
    expect(section(html, 'comparison')).toContain('96.40%');
    expect(section(html, 'comparison')).not.toContain('n/a');
    expect(html).not.toContain('class="confusion"');
    expect(section(html, 'per-class')).toContain('none was given');
    expect(section(html, 'settings')).toContain('>none<');
  });

  it('names classes by number and warns about a collapsed transfer set', () => {
    const transfer = section(html, 'transfer-set');
    expect(transfer).toContain('The transfer set collapsed');
    expect(transfer).toContain('71.0%');
    expect(transfer).toContain('>9</text>');
  });

  it('draws a gap where an epoch has no metric', () => {
    const curves = section(html, 'curves');
    expect(count(curves, '<circle data-series="hold-out agreement"')).toBe(11);
    expect(curves).toMatch(/d="M[^"]*L[^"]*M/);
  });

  it('still says something when nothing was measured', () => {
    const bare = { ...result, holdoutAgreement: null };
    expect(summarySentence(bare)).toContain('was not measured');
  });
});
