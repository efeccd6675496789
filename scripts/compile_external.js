#!/usr/bin/env node
// Compile the real third-party DEX contracts the tests deploy and write
// contracts/build/external/<ContractName>.json = {abi, bytecode, deployedBytecode}.
//
// Sources come from npm packages pinned in package.json: Aerodrome and
// Aerodrome Slipstream from sphere-mezo-solidity-files (with
// @openzeppelin/contracts), each compiled by the solc-js release its pragma
// asks for. Like compile_contracts.js the output is deterministic, and
// `--check` exits 1 when a committed build file is missing or differs.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const MODULES = path.join(ROOT, 'node_modules');
const BUILD_DIR = path.join(ROOT, 'contracts', 'build', 'external');
const SPHERE = 'sphere-mezo-solidity-files/domains';

// One entry per compiler run: the solc package, the sources to compile (npm
// paths), the contracts to keep, and settings matching the projects' own builds.
const UNITS = [
  {
    solc: 'solc-0.7.6',
    sources: [
      `${SPHERE}/aerodrome-slipstream/contracts/core/CLFactory.sol`,
      `${SPHERE}/aerodrome-slipstream/contracts/core/CLPool.sol`,
      `${SPHERE}/aerodrome-slipstream/contracts/core/fees/CustomSwapFeeModule.sol`,
    ],
    keep: ['CLFactory', 'CLPool', 'CustomSwapFeeModule'],
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'istanbul' },
  },
  {
    solc: 'solc',
    sources: [
      `${SPHERE}/aerodrome/contracts/Pool.sol`,
      `${SPHERE}/aerodrome/contracts/factories/PoolFactory.sol`,
    ],
    keep: ['Pool', 'PoolFactory'],
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' },
  },
];

const OUTPUT = { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } };

// Imports are npm paths ("@openzeppelin/...") or relative to the importing
// file, which solc has already resolved to an npm path.
function findImports(importPath) {
  const resolved = path.resolve(MODULES, importPath);
  if (!resolved.startsWith(MODULES + path.sep)) {
    return { error: `import outside node_modules: ${importPath}` };
  }
  try {
    return { contents: fs.readFileSync(resolved, 'utf8') };
  } catch (err) {
    return { error: `cannot read ${importPath}: ${err.message}` };
  }
}

function compileUnit(unit) {
  const solc = require(unit.solc);
  const sources = {};
  for (const name of unit.sources) {
    sources[name] = { content: fs.readFileSync(path.join(MODULES, name), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: { ...unit.settings, outputSelection: OUTPUT },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(e.formattedMessage);
    throw new Error(`${unit.solc} reported ${errors.length} error(s)`);
  }
  const files = {};
  for (const sourceName of Object.keys(output.contracts).sort()) {
    for (const contractName of Object.keys(output.contracts[sourceName]).sort()) {
      if (!unit.keep.includes(contractName)) continue;
      const contract = output.contracts[sourceName][contractName];
      const artifact = {
        abi: contract.abi,
        bytecode: `0x${contract.evm.bytecode.object}`,
        deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      };
      files[`${contractName}.json`] = `${JSON.stringify(artifact, null, 2)}\n`;
    }
  }
  const missing = unit.keep.filter((name) => !(`${name}.json` in files));
  if (missing.length > 0) throw new Error(`not compiled: ${missing.join(', ')}`);
  return files;
}

function compile() {
  const files = {};
  for (const unit of UNITS) Object.assign(files, compileUnit(unit));
  return files;
}

function main(argv) {
  const args = argv.slice(2);
  if (args.some((arg) => arg !== '--check')) {
    process.stderr.write('usage: node scripts/compile_external.js [--check]\n');
    return 2;
  }
  let files;
  try {
    files = compile();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  if (args.includes('--check')) {
    const problems = Object.keys(files)
      .sort()
      .filter((name) => {
        const target = path.join(BUILD_DIR, name);
        return !fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== files[name];
      });
    if (problems.length > 0) {
      process.stderr.write(
        `out of date: ${problems.join(', ')}\nRun \`npm run compile\` and commit contracts/build.\n`,
      );
      return 1;
    }
    process.stdout.write(`contracts/build/external is up to date (${Object.keys(files).length} contracts)\n`);
    return 0;
  }
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  for (const name of Object.keys(files).sort()) {
    fs.writeFileSync(path.join(BUILD_DIR, name), files[name]);
  }
  process.stdout.write(`compiled ${Object.keys(files).length} third-party contracts into contracts/build/external\n`);
  return 0;
}

process.exitCode = main(process.argv);
