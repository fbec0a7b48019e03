// Every console page by method and path, and who may use it. Sign-in, sign-out and assets are app.ts's.
import type { Route } from '../app'
import { auditPage, recordPage } from './audit'
import { editPage, newPage, planPost, savePost } from './edit'
import { explainPage, explainPost } from './explain'
import { mappingPage } from './mapping'
import { mappingsPage } from './mappings'

export const PAGES: { readonly get: Readonly<Record<string, Route>>; readonly post: Readonly<Record<string, Route>> } = {
  get: {
    '/console/mappings': { need: 'viewer', handle: mappingsPage },
    '/console/mapping': { need: 'viewer', handle: mappingPage },
    '/console/explain': { need: 'viewer', handle: explainPage },
    '/console/audit': { need: 'viewer', handle: auditPage },
    '/console/audit/record': { need: 'viewer', handle: recordPage },
    '/console/mappings/edit': { need: 'editor', handle: editPage },
    '/console/mappings/new': { need: 'editor', handle: newPage },
  },
  post: {
    '/console/explain': { need: 'viewer', handle: explainPost },
    '/console/mappings/plan': { need: 'editor', handle: planPost },
    '/console/mappings/save': { need: 'editor', handle: savePost },
  },
}
