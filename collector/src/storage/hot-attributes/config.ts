import { z } from 'zod';
import { DEFAULT_HOT_ATTRIBUTES, HOT_KEY_PATTERN, hotColumnName } from './hot-columns.js';

/**
 * `storage.hot_attributes`: span attribute keys stored in their own column with a skip index
 * (hot-columns.ts). Two keys that would share a column (`http.route`, `http_route`) are refused.
 */
export const hotAttributesSchema = z
  .array(z.string().regex(HOT_KEY_PATTERN, 'an attribute key of letters, digits and _ . : / - (at most 128)'))
  .max(32, 'at most 32 hot attributes')
  .default([...DEFAULT_HOT_ATTRIBUTES])
  .superRefine((keys, ctx) => {
    const seen = new Map<string, string>();
    keys.forEach((key, i) => {
      const column = hotColumnName(key);
      const other = seen.get(column);
      if (other === key) ctx.addIssue({ code: 'custom', path: [i], message: `'${key}' is listed twice` });
      else if (other !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: `'${key}' and '${other}' would share the column ${column}: keep one` });
      else seen.set(column, key);
    });
  });
