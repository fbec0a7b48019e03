// The broker's version, as package.json says it (bundled at build time).
import { version } from '../../package.json'
export const VERSION: string = version
