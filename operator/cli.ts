// Entry point of `ferry operator`.
import { runOperator } from './main.ts';

await runOperator(process.argv.slice(2));
