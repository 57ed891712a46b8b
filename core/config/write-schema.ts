/** `npm run schema`: writes config/bot.schema.json from the declarations (run after `npm run build`). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { completeBotSchema } from './complete-schema.js';
import { builtinConfigDir } from './package-root.js';

const file = join(builtinConfigDir(), 'bot.schema.json');
await writeFile(file, `${JSON.stringify(await completeBotSchema(), null, 2)}\n`);
console.log(`wrote ${file}`);
