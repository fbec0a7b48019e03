// Advice on a valid mapping: what it allows that its author may not mean. Never an error (the broker applies the
// mapping as written); `mappings validate`, `apply` and `put` print it.
import { patternMatcher } from './glob'
import type { Mapping, Problem } from './mapping'
import { parseScope } from './scope'

export function mappingWarnings (mapping: Mapping): Problem[] {
  const warnings: Problem[] = []
  if ('ref' in mapping.conditions && !('ref_type' in mapping.conditions) && !('ref_path' in mapping.conditions)) {
    warnings.push({
      path: ['conditions', 'ref'],
      message: 'matches a branch or a tag of that name; add `ref_type: branch` (or `tag`), or match `ref_path: refs/heads/...`, to say which',
    })
  }
  // An environment is a name the job's own .gitlab-ci.yml gives: on an unprotected ref any branch can claim it. Only a
  // protected environment (GitLab decides who may deploy to it) says more.
  const c = mapping.conditions
  const admitsFalse = (claim: string) => (c[claim] ?? []).some(p => patternMatcher(p)('false'))
  if ('environment' in c && admitsFalse('ref_protected') && (!('environment_protected' in c) || admitsFalse('environment_protected'))) {
    warnings.push({
      path: ['conditions', 'environment'],
      message: 'applies on unprotected refs too (ref_protected allows "false"), where any branch\'s job can name this environment; ' +
        'require `environment_protected: "true"` so only jobs GitLab lets deploy to the protected environment match',
    })
  }
  // `none` is required for /**, and an explicit choice elsewhere: say what it gives up where a pin was possible.
  const kind = parseScope(mapping.scope)?.kind
  if (mapping.pin === 'none' && kind !== 'subtree') {
    const [what, id] = kind === 'project' ? ['project', 'project_id'] : ['group', 'namespace_id']
    warnings.push({
      path: ['pin'],
      message: `"none" where a pin is possible: a ${what} deleted and created again at this path would get the role too; ` +
        `pin its ${id} unless that is what you want`,
    })
  }
  return warnings
}
