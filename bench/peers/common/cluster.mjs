// Runs start() in this process, or in WORKERS forked processes sharing the port (node:cluster).
import cluster from 'node:cluster';

export function runMaybeClustered(start) {
  const workers = Number(process.env.WORKERS || 1);
  if (workers > 1 && cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    cluster.on('exit', (worker, code) => {
      if (code !== 0) process.exit(1);
    });
    const stop = () => {
      for (const id in cluster.workers) cluster.workers[id].kill('SIGTERM');
      setTimeout(() => process.exit(0), 2000).unref();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  start().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

export const env = {
  port: Number(process.env.PORT || 3000),
  mongoUri: process.env.MONGO_URI || 'mongodb://127.0.0.1:27017/',
  db: process.env.DB || 'bench',
  poolSize: Number(process.env.POOL_SIZE || 16),
};
