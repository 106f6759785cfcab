#!/usr/bin/env node
import './threadpool.js';
import { Command, Option } from 'commander';
import { connectCri } from '../client/cri.js';
import { defaultConfigToml } from '../config/load.js';
import { messageOf } from '../errors.js';
import { explainClientError, socketOption } from './client-options.js';
import { camelKeys } from './output.js';
import { collectInfo, formatInfo, showVersion } from './info.js';
import { registerImageCommands } from './images.js';
import { registerImageImportCommand } from './image-import.js';
import { registerAttachCommand, registerExecCommand } from './exec.js';
import { registerPortForwardCommand } from './port-forward.js';
import { VERSION_STRING } from './version.js';
import { registerRunCommand } from './run.js';
import { registerDownCommand } from './down.js';
import { registerPodsCommand } from './pods.js';
import { registerPsCommand } from './ps.js';
import { registerLogsCommand } from './logs.js';
import { registerStopCommand } from './stop.js';
import { registerRmCommand } from './rm.js';
import { registerInspectCommand } from './inspect.js';
import { registerStatsCommand } from './stats.js';
import { registerVolumeCommands } from './volumes.js';

const program = new Command('keelson')
  .description('A Kubernetes container runtime: CRI v1 on a unix socket, and pods on one machine')
  .version(VERSION_STRING, '-V, --version', 'print the client version')
  // A typo'd command says what went wrong (and "Did you mean ...?"), not the whole help.
  .showHelpAfterError('(add --help for usage)')
  // Options before the command are the program's (`keelson --socket X ps`), after it the command's.
  .enablePositionalOptions()
  .option('--socket <path>', 'the keelson CRI socket, for every client command (or KEELSON_SOCKET)')
  .option('-n, --namespace <ns>', 'the namespace, for every pod command');

// The program's options reach the command that runs, unless it was given its own.
program.hook('preAction', (_program, command) => {
  for (const key of ['socket', 'namespace']) {
    if (program.getOptionValueSource(key) !== 'cli' || command === program) continue;
    if (!command.options.some((o) => o.attributeName() === key)) {
      throw new Error(`--${key} does not apply to \`keelson ${command.name()}\``);
    }
    if (command.getOptionValueSource(key) !== 'cli') command.setOptionValueWithSource(key, program.getOptionValue(key), 'cli');
  }
});

program
  .command('serve')
  .description('run the daemon: serve the CRI API on the socket')
  .option('--config <path>', 'config file (default /etc/keelson/config.toml when present)')
  .option('--root <dir>', 'root dir for persistent data')
  .option('--state <dir>', 'state dir for sockets, pinned namespaces and runtime state')
  .option('--socket <path>', 'CRI socket path (default <state>/keelson.sock)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']))
  .action(async (opts: { config?: string; root?: string; state?: string; socket?: string; logLevel?: string }) => {
    // Loaded on demand: the daemon's modules take a second to load, client commands need none of them.
    const { serve } = await import('./serve.js');
    await serve({ ...opts, log_level: opts.logLevel });
  });

/** A client command: connects to the daemon, runs, closes, and explains a failure. */
function withClient<T extends { socket: string }>(run: (client: ReturnType<typeof connectCri>, opts: T) => Promise<void>) {
  return async (opts: T): Promise<void> => {
    const client = connectCri(opts.socket);
    try {
      await run(client, opts);
    } catch (err) {
      throw new Error(explainClientError(err, opts.socket), { cause: err });
    } finally {
      client.close();
    }
  };
}

program
  .command('version')
  .description('print the client and runtime versions')
  .addOption(socketOption())
  .action(
    withClient(async (client) => {
      console.log(await showVersion(client));
    }),
  );

program
  .command('info')
  .description('show the runtime status, conditions and cgroup driver')
  .addOption(socketOption())
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action(
    withClient<{ socket: string; output: string }>(async (client, opts) => {
      const report = await collectInfo(client);
      console.log(opts.output === 'json' ? JSON.stringify(camelKeys(report), null, 2) : formatInfo(report));
    }),
  );

registerImageCommands(program, withClient);
registerImageImportCommand(program);
registerRunCommand(program, withClient);
registerDownCommand(program, withClient);
registerPodsCommand(program, withClient);
registerPsCommand(program, withClient);
registerLogsCommand(program, withClient);
registerStopCommand(program, withClient);
registerRmCommand(program, withClient);
registerInspectCommand(program, withClient);
registerStatsCommand(program, withClient);
registerExecCommand(program, withClient);
registerAttachCommand(program, withClient);
registerPortForwardCommand(program, withClient);
registerVolumeCommands(program);

const config = program.command('config').description('configuration helpers');
config
  .command('default')
  .description('print the default configuration as TOML')
  .action(() => {
    process.stdout.write(defaultConfigToml());
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`keelson: ${messageOf(err)}`);
  process.exit(1);
});
