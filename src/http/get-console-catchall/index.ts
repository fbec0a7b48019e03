// GET /console/*: the console (src/console). Its own Lambda: the credentials Lambdas never load console code.
import { consoleHandler } from '../../console/handler'

export const handler = consoleHandler()
