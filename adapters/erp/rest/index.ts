import { defineErp } from '../descriptor';
import { checkRestErpOnline } from './online';
import { restErpOptionsSchema } from './options';
import { RestErp } from './rest';

export { type RestErpConfig, restErpOptionsSchema } from './options';
export { RestErp } from './rest';

export const restErp = defineErp({
  name: 'rest',
  options: restErpOptionsSchema,
  requires: 'set erp.rest.baseUrl, auth, getOrder and fields',
  online: checkRestErpOnline,
  create: (options, erp) => new RestErp(options, erp),
});
