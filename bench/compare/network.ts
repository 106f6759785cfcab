// A CNI network per runtime per run: a bridge of a unique name and a /24 in a range of its own
// (keelson's tests use 10.160-250.x), host-local's data in the run's temp dir, and the cleanup
// of the bridge and of the iptables rules the bridge (ipMasq) and portmap plugins leave.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';

export interface BenchNetwork {
  name: string;
  bridge: string;
  subnet: string;
  conflist: Record<string, unknown>;
  cleanup(): void;
}

/** `secondOctet` is the [min, max) range to pick 10.X.Y.0/24 from. */
export function benchNetwork(tag: string, dir: string, secondOctet: [number, number]): BenchNetwork {
  const suffix = randomBytes(3).toString('hex');
  const name = `kb${tag}-${suffix}`;
  const bridge = `kb${tag}${suffix}`;
  const prefix = `10.${randomInt(secondOctet[0], secondOctet[1])}.${randomInt(0, 255)}`;
  const subnet = `${prefix}.0/24`;
  const conflist = {
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge', bridge, isGateway: true, ipMasq: true, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
      },
      { type: 'firewall', backend: 'iptables' },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  const cleanup = (): void => {
    for (const table of ['nat', 'filter']) {
      let save: string;
      try {
        save = execFileSync('iptables-save', ['-t', table], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      } catch {
        continue;
      }
      const chains = new Set<string>();
      for (const line of save.split('\n').filter((l) => l.startsWith('-A ') && (l.includes(`${prefix}.`) || l.includes(name)))) {
        const target = / -j (CNI-[A-Za-z0-9-]+)/.exec(line)?.[1];
        if (target && !/^CNI-(HOSTPORT-SETMARK|HOSTPORT-MASQ|HOSTPORT-DNAT|FORWARD|ADMIN)$/.test(target)) chains.add(target);
        // iptables-save quotes rules for a shell, so sh hands them back to iptables intact.
        try {
          execFileSync('sh', ['-c', `iptables -t ${table} -D ${line.slice(3)}`], { stdio: 'ignore' });
        } catch {
          // removed with its chain
        }
      }
      for (const chain of chains) {
        try {
          execFileSync('sh', ['-c', `iptables -t ${table} -F ${chain} && iptables -t ${table} -X ${chain}`], { stdio: 'ignore' });
        } catch {
          // still referenced or gone
        }
      }
    }
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      // never created
    }
  };
  return { name, bridge, subnet, conflist, cleanup };
}
