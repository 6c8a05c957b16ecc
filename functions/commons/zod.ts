import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini carries no messages of its own: the English ones (classic zod's), without the other locales.
// Import it as a namespace (`import * as z`) so that the bundler keeps only the schemas used.
config(en());

export * from 'zod/mini';
