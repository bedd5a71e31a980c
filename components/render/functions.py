"""The edge runtime's starting functions: the main service and one example.

The edge runtime is started with ``start --main-service /home/deno/functions/main``; the
main service is the router that checks the caller's JWT and runs each user function in
its own worker. Without it the functions service answers nothing, so every project
gets it, together with ``hello`` to show that the setup works.
"""

from __future__ import annotations

#: Where the functions live in the edge runtime container.
FUNCTIONS_DIR = "/home/deno/functions"

#: The request handler both mains share: check the caller's JWT when asked, then run the
#: function named by the first path segment in its own user worker. ``SERVE`` and ``TOKEN``
#: name the release's serve function and token reader.
_ROUTER = """\
SERVE(async (req: Request) => {
  if (req.method !== 'OPTIONS' && VERIFY_JWT) {
    let token: string
    try {
      token = TOKEN(req)
    } catch (err) {
      return jsonResponse(401, { msg: String(err) })
    }
    if (!(await isValidJwt(token))) {
      return jsonResponse(401, { msg: 'Invalid JWT' })
    }
  }

  const name = new URL(req.url).pathname.split('/')[1]
  if (!name) {
    return jsonResponse(400, { msg: 'missing function name in request' })
  }
  if (!FUNCTION_NAME.test(name) || name === 'main') {
    return jsonResponse(404, { msg: `function not found: ${name}` })
  }

  const servicePath = `${FUNCTIONS_DIR}/${name}`
  console.error(`serving the request with ${servicePath}`)
  try {
    const worker = await EdgeRuntime.userWorkers.create({
      servicePath,
      memoryLimitMb: WORKER_MEMORY_LIMIT_MB,
      workerTimeoutMs: WORKER_TIMEOUT_MS,
      noModuleCache: false,
      importMapPath: null,
      envVars: Object.entries(Deno.env.toObject()),
    })
    return await worker.fetch(req)
  } catch (err) {
    return jsonResponse(500, { msg: String(err) })
  }
})
"""


def _router(serve: str, token: str) -> str:
    """The shared handler, calling ``serve`` and reading the token with ``token``."""
    return _ROUTER.replace("SERVE(", f"{serve}(", 1).replace("TOKEN(req)", f"{token}(req)", 1)


#: The 2024-04 main up to the shared handler (``_router``).
_MAIN_HEAD = """\
// Main service of the edge runtime: checks the caller's JWT when VERIFY_JWT is "true",
// then runs the function named by the first path segment (/<name>/...) in a user worker
// started from /home/deno/functions/<name>.
import { serve } from 'https://deno.land/std@0.131.0/http/server.ts'
import * as jose from 'https://deno.land/x/jose@v4.14.4/index.ts'

const FUNCTIONS_DIR = '/home/deno/functions'
const JWT_SECRET = Deno.env.get('JWT_SECRET') ?? ''
const VERIFY_JWT = Deno.env.get('VERIFY_JWT') === 'true'
// A function name is one path segment; "main" is this service, never a user worker.
const FUNCTION_NAME = /^[A-Za-z0-9_-]+$/
const WORKER_MEMORY_LIMIT_MB = 150
const WORKER_TIMEOUT_MS = 60 * 1000

function jsonResponse(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

function bearerToken(req: Request): string {
  const header = req.headers.get('authorization')
  if (!header) {
    throw new Error('Missing authorization header')
  }
  const [scheme, token] = header.split(' ')
  if (scheme !== 'Bearer' || !token) {
    throw new Error("Auth header is not 'Bearer {token}'")
  }
  return token
}

async function isValidJwt(token: string): Promise<boolean> {
  try {
    await jose.jwtVerify(token, new TextEncoder().encode(JWT_SECRET))
    return true
  } catch (err) {
    console.error(err)
    return false
  }
}

"""

_HELLO = """\
// Example function: /functions/v1/hello answers with a JSON greeting.
// curl http://<host>:<kong port>/functions/v1/hello -H 'Authorization: Bearer <anon key>'
import { serve } from 'https://deno.land/std@0.177.1/http/server.ts'

serve(() => {
  return new Response(JSON.stringify('Hello from Edge Functions!'), {
    headers: { 'Content-Type': 'application/json' },
  })
})
"""


def render_default_functions() -> dict[str, str]:
    """Path relative to ``FUNCTIONS_DIR`` -> TypeScript source of the starting functions."""
    main = _MAIN_HEAD + _router("serve", "bearerToken")
    return {"main/index.ts": main, "hello/index.ts": _HELLO}


# --- 2026-09: edge-runtime 1.76 --------------------------------------------------------

#: 2026-09's main: auth now signs user sessions with the project's ES256 key, so an
#: HS256-only check (the 2024-04 main) would refuse every signed-in user. It verifies
#: HS256 tokens with JWT_SECRET and ES256/RS256 ones with the public keys of SUPABASE_JWKS,
#: as upstream's main does, and falls back to the gateway's ``sb-api-key`` (the JWT an
#: opaque key was translated into; the gateway drops any client-sent copy).
_MAIN_2026_HEAD = """\
// Main service of the edge runtime: checks the caller's JWT when VERIFY_JWT is "true",
// then runs the function named by the first path segment (/<name>/...) in a user worker
// started from /home/deno/functions/<name>.
import * as jose from 'jsr:@panva/jose@6'

const FUNCTIONS_DIR = '/home/deno/functions'
const JWT_SECRET = Deno.env.get('JWT_SECRET') ?? ''
const VERIFY_JWT = Deno.env.get('VERIFY_JWT') === 'true'
const JWKS = localJwks(Deno.env.get('SUPABASE_JWKS'))
// A function name is one path segment; "main" is this service, never a user worker.
const FUNCTION_NAME = /^[A-Za-z0-9_-]+$/
const WORKER_MEMORY_LIMIT_MB = 150
const WORKER_TIMEOUT_MS = 60 * 1000

function localJwks(raw: string | undefined) {
  if (!raw) return null
  try {
    const parsed = JSON.parse(raw)
    // Only the public keys: the legacy oct key is checked with JWT_SECRET below.
    const keys = (parsed?.keys ?? []).filter((key: { kty?: string }) => key.kty !== 'oct')
    return keys.length ? jose.createLocalJWKSet({ keys }) : null
  } catch {
    console.error('SUPABASE_JWKS is not a JSON Web Key Set')
    return null
  }
}

function jsonResponse(status: number, body: Record<string, unknown>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

// The caller's own token, else the JWT the gateway put in place of an opaque key.
function callerToken(req: Request): string {
  const header = req.headers.get('authorization')
  if (header) {
    const [scheme, token, ...rest] = header.split(' ')
    if (scheme !== 'Bearer' || !token || rest.length) {
      throw new Error("Auth header is not 'Bearer {token}'")
    }
    return token
  }
  const translated = req.headers.get('sb-api-key')
  if (translated) return translated
  throw new Error('Missing authorization header')
}

async function isValidJwt(token: string): Promise<boolean> {
  try {
    const { alg } = jose.decodeProtectedHeader(token)
    if (alg === 'HS256' && JWT_SECRET) {
      await jose.jwtVerify(token, new TextEncoder().encode(JWT_SECRET), { algorithms: ['HS256'] })
      return true
    }
    if ((alg === 'ES256' || alg === 'RS256') && JWKS) {
      await jose.jwtVerify(token, JWKS, { algorithms: ['ES256', 'RS256'] })
      return true
    }
    console.error(`no key to verify a ${alg} token`)
  } catch (err) {
    console.error(err)
  }
  return false
}

"""

_HELLO_2026 = """\
// Example function: /functions/v1/hello answers with a JSON greeting.
// curl http://<host>:<gateway port>/functions/v1/hello -H 'apikey: <publishable key>'
Deno.serve(() => {
  return new Response(JSON.stringify('Hello from Edge Functions!'), {
    headers: { 'Content-Type': 'application/json' },
  })
})
"""


def render_default_functions_2026() -> dict[str, str]:
    """2026-09's starting functions, path relative to ``FUNCTIONS_DIR`` -> TypeScript."""
    main = _MAIN_2026_HEAD + _router("Deno.serve", "callerToken")
    return {"main/index.ts": main, "hello/index.ts": _HELLO_2026}
