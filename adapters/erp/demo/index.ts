import { z } from 'zod';
import { defineErp } from '../descriptor';
import { DemoErp } from './demo';

export { DemoErp } from './demo';

export const demoErpOptionsSchema = z.object({ file: z.string().default('adapters/erp/demo-orders.yaml') });

/** The embedded ERP: orders from a local YAML/JSON file. */
export const demoErp = defineErp({
  name: 'demo',
  options: demoErpOptionsSchema,
  online: { skipped: 'local: orders from a file' },
  create: (options, erp) => DemoErp.load(options.file, { returnWindowDays: erp.returnWindowDays }),
});
