// A real AT Protocol PDS (@atproto/pds) and a PLC directory (@did-plc/server) in one process,
// both bound to 127.0.0.1, for psched's tests and benchmark (stack/pds.py starts it).
//
//   node serve.js DATA_DIR
//
// Environment: PLC_PORT, PDS_PORT (required); RATE_LIMIT_WRITES="POINTS/SECONDS" turns the
// PDS's rate limits on and makes its per-account hourly write budget that small (a putRecord
// costs 2 points), so a test meets a real 429 and its ratelimit-* headers in a few writes.
//
// The PLC directory keeps its database in memory and an operation log in DATA_DIR/plc-ops.jsonl,
// replayed on start: a PDS killed and started again on the same DATA_DIR keeps its accounts,
// records and sessions (the JWT secret and the rotation key are fixed, test-only values).
const fs = require('node:fs')
const path = require('node:path')

const DATA = process.argv[2]
const PLC_PORT = Number(process.env.PLC_PORT)
const PDS_PORT = Number(process.env.PDS_PORT)
if (!DATA || !PLC_PORT || !PDS_PORT) {
  console.error('usage: PLC_PORT=... PDS_PORT=... node serve.js DATA_DIR')
  process.exit(2)
}
const t0 = Date.now()

async function startPlc() {
  const plc = require('@did-plc/server')
  const db = plc.Database.mock()
  const opLog = path.join(DATA, 'plc-ops.jsonl')
  if (fs.existsSync(opLog)) {
    for (const line of fs.readFileSync(opLog, 'utf8').split('\n').filter(Boolean)) {
      const { did, op } = JSON.parse(line)
      await db.validateAndAddOp(did, op)
    }
  }
  const add = db.validateAndAddOp.bind(db)
  db.validateAndAddOp = async (did, op) => {
    await add(did, op)
    fs.appendFileSync(opLog, JSON.stringify({ did, op }) + '\n')
  }
  const server = plc.PlcServer.create({ db, port: PLC_PORT })
  await new Promise((resolve) => server.app.listen(PLC_PORT, '127.0.0.1', resolve))
  console.log(`PLC listening on http://127.0.0.1:${PLC_PORT} (+${Date.now() - t0} ms)`)
}

// The PDS's write limits are fixed in its code (5000 points an hour); a test lowers them by
// changing the limiter when it is first used.
function lowerWriteLimit(spec) {
  const [points, seconds] = spec.split('/').map(Number)
  const xrpcDir = path.dirname(require.resolve('@atproto/xrpc-server', { paths: [require.resolve('@atproto/pds')] }))
  const { RateLimiter } = require(path.join(xrpcDir, 'rate-limiter.js'))
  const consume = RateLimiter.prototype.consume
  RateLimiter.prototype.consume = function (ctx, opts) {
    if (this.limiter.keyPrefix === 'rl-repo-write-hour' && this.limiter.points !== points) {
      this.limiter.points = points
      this.limiter.duration = seconds
    }
    return consume.call(this, ctx, opts)
  }
}

async function startPds() {
  const { PDS, envToCfg, envToSecrets } = require('@atproto/pds')
  fs.mkdirSync(path.join(DATA, 'blobs'), { recursive: true })
  const env = {
    port: PDS_PORT,
    hostname: 'localhost', // public URL http://localhost:PORT, handles under .test
    dataDirectory: DATA,
    blobstoreDiskLocation: path.join(DATA, 'blobs'),
    didPlcUrl: `http://127.0.0.1:${PLC_PORT}`,
    jwtSecret: 'psched-test-jwt-secret',
    adminPassword: 'psched-test-admin',
    plcRotationKeyK256PrivateKeyHex: 'e8d9e0b8e3b94a0c1f2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081',
    inviteRequired: false,
    devMode: true,
    serviceHandleDomains: ['.test'],
    crawlers: [],
    rateLimitsEnabled: Boolean(process.env.RATE_LIMIT_WRITES),
    // No AppView: app.bsky.* reads are not served (clients log in without fetching a profile).
  }
  if (process.env.RATE_LIMIT_WRITES) lowerWriteLimit(process.env.RATE_LIMIT_WRITES)
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  // pds.start() without its listen on every address
  await pds.ctx.sequencer.start()
  await new Promise((resolve) => pds.app.listen(PDS_PORT, '127.0.0.1', resolve))
  console.log(`PDS listening on http://127.0.0.1:${PDS_PORT} (+${Date.now() - t0} ms)`)
}

;(async () => {
  fs.mkdirSync(DATA, { recursive: true })
  await startPlc()
  await startPds()
  console.log('READY')
})().catch((error) => {
  console.error(error)
  process.exit(1)
})
