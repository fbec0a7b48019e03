// How the CLI points at a problem in a mapping: its path (`mappings[2].conditions.reff`) and, in a file, its place
// (`FILE:LINE:COL: path: message`). No YAML here: commands that only print problems do not load the YAML parser.

export type Path = ReadonlyArray<string | number>

export interface FileProblem {
  readonly file: string
  readonly line: number
  readonly col: number
  readonly path: Path
  readonly message: string
}

/** `mappings[2].conditions.reff`: list indexes in brackets, keys after dots. */
export function formatPath (path: Path): string {
  return path.reduce<string>((text, seg) => typeof seg === 'number' ? `${text}[${seg}]` : text ? `${text}.${seg}` : seg, '')
}

/** `FILE:LINE:COL: path: message`, as compilers print them (editors jump to it). */
export function formatProblem (p: FileProblem): string {
  const path = formatPath(p.path)
  return `${p.file}:${p.line}:${p.col}: ${path ? path + ': ' : ''}${p.message}`
}
