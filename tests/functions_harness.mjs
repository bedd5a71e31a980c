// Runs the rendered edge-runtime main (TypeScript) under Node with stand-ins for the
// edge runtime's globals (Deno.env, Deno.serve, EdgeRuntime.userWorkers) and the real
// `jose` package from npm in place of `jsr:@panva/jose@6`. Reads
// {"main": <path>, "env": {...}, "requests": [{method, url, headers}]} on stdin and
// prints [{status, body}] for the requests, in order.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import ts from 'typescript'

const input = JSON.parse(readFileSync(0, 'utf8'))
const env = input.env

let handler = null
globalThis.Deno = {
  env: { get: (name) => env[name], toObject: () => ({ ...env }) },
  serve: (h) => { handler = h },
}
globalThis.EdgeRuntime = {
  userWorkers: {
    create: async (options) => ({
      fetch: async () => new Response(JSON.stringify({ worker: options.servicePath }), { status: 200 }),
    }),
  },
}

const source = readFileSync(input.main, 'utf8').replace("'jsr:@panva/jose@6'", "'jose'")
const { outputText, diagnostics } = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  reportDiagnostics: true,
})
if (diagnostics.length) {
  console.error(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')))
  process.exit(2)
}
const compiled = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'main.mjs')
writeFileSync(compiled, outputText)
console.error = () => {}
await import(pathToFileURL(compiled).href)

const results = []
for (const request of input.requests) {
  const response = await handler(new Request(request.url, { method: request.method, headers: request.headers }))
  results.push({ status: response.status, body: await response.text() })
}
process.stdout.write(JSON.stringify(results))
