#!/usr/bin/env node
// Compile every contracts/*.sol with the pinned solc-js and write
// contracts/build/<ContractName>.json = {abi, bytecode, deployedBytecode}.
//
// The output is deterministic (sorted sources, fixed settings, stable key order,
// trailing newline), so the committed build files can be checked against the
// sources: `node scripts/compile_contracts.js --check` compiles in memory and
// exits 1 listing every build file that is missing, stale or out of date.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const ROOT = path.resolve(__dirname, '..');
const SOURCE_DIR = path.join(ROOT, 'contracts');
const BUILD_DIR = path.join(SOURCE_DIR, 'build');

// Changing any of these changes every bytecode: keep them in one place.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // Cancun is supported by Base and the other major EVM chains.
  evmVersion: 'cancun',
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};

function readSources() {
  const names = fs
    .readdirSync(SOURCE_DIR)
    .filter((name) => name.endsWith('.sol'))
    .sort();
  const sources = {};
  for (const name of names) {
    sources[`contracts/${name}`] = { content: fs.readFileSync(path.join(SOURCE_DIR, name), 'utf8') };
  }
  return sources;
}

// Imports outside contracts/*.sol are resolved relative to the project root.
function findImports(importPath) {
  const resolved = path.resolve(ROOT, importPath);
  if (!resolved.startsWith(ROOT + path.sep)) {
    return { error: `import outside the project: ${importPath}` };
  }
  try {
    return { contents: fs.readFileSync(resolved, 'utf8') };
  } catch (err) {
    return { error: `cannot read ${importPath}: ${err.message}` };
  }
}

function compile() {
  const sources = readSources();
  if (Object.keys(sources).length === 0) {
    throw new Error('no contracts/*.sol sources found');
  }
  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const message of output.errors || []) {
    if (message.severity !== 'error') process.stderr.write(message.formattedMessage);
  }
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(e.formattedMessage);
    throw new Error(`solc reported ${errors.length} error(s)`);
  }

  // Only the contracts defined in contracts/*.sol, and only deployable ones
  // (interfaces and abstract contracts have no bytecode).
  const files = {};
  for (const sourceName of Object.keys(sources)) {
    const contracts = output.contracts[sourceName] || {};
    for (const contractName of Object.keys(contracts).sort()) {
      const contract = contracts[contractName];
      const bytecode = contract.evm.bytecode.object;
      if (!bytecode) continue;
      if (files[contractName]) {
        throw new Error(`contract name ${contractName} is defined twice; build files are named by contract`);
      }
      const artifact = {
        abi: contract.abi,
        bytecode: `0x${bytecode}`,
        deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      };
      files[`${contractName}.json`] = `${JSON.stringify(artifact, null, 2)}\n`;
    }
  }
  return files;
}

function existingBuildFiles() {
  if (!fs.existsSync(BUILD_DIR)) return [];
  return fs.readdirSync(BUILD_DIR).filter((name) => name.endsWith('.json')).sort();
}

function check(files) {
  const problems = [];
  for (const name of Object.keys(files).sort()) {
    const target = path.join(BUILD_DIR, name);
    if (!fs.existsSync(target)) {
      problems.push(`missing: contracts/build/${name}`);
    } else if (fs.readFileSync(target, 'utf8') !== files[name]) {
      problems.push(`differs: contracts/build/${name}`);
    }
  }
  for (const name of existingBuildFiles()) {
    if (!(name in files)) problems.push(`stale (no source): contracts/build/${name}`);
  }
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\nRun \`npm run compile\` and commit contracts/build.\n`);
    return 1;
  }
  process.stdout.write(`contracts/build is up to date (${Object.keys(files).length} contracts)\n`);
  return 0;
}

function write(files) {
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  for (const name of existingBuildFiles()) {
    if (!(name in files)) fs.unlinkSync(path.join(BUILD_DIR, name));
  }
  for (const name of Object.keys(files).sort()) {
    const target = path.join(BUILD_DIR, name);
    if (!fs.existsSync(target) || fs.readFileSync(target, 'utf8') !== files[name]) {
      fs.writeFileSync(target, files[name]);
    }
  }
  process.stdout.write(`compiled ${Object.keys(files).length} contracts into contracts/build\n`);
  return 0;
}

function main(argv) {
  const args = argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node scripts/compile_contracts.js [--check]\nunknown argument: ${unknown[0]}\n`);
    return 2;
  }
  let files;
  try {
    files = compile();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  return args.includes('--check') ? check(files) : write(files);
}

process.exitCode = main(process.argv);
