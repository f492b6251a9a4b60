import { describe, expect, it } from 'vitest';
import { rustImageEnv } from './rust-image.js';

describe('rustImageEnv', () => {
  it("passes rustup's locations and the script's settings, nothing else of the test's environment", () => {
    const docker = { PATH: '/usr/bin', HOME: '/home/ci', DOCKER_HOST: 'unix:///tmp/d.sock' };
    const env = {
      ...docker,
      RUSTUP_HOME: '/opt/rustup',
      CARGO_HOME: '/opt/cargo',
      RUSTUP_TOOLCHAIN: '1.95.0',
      FLOWTRACE_RUST_IMAGE_REBUILD: '1',
      FLOWTRACE_ADMIN_TOKEN: 'ft_secret',
      AWS_SECRET_ACCESS_KEY: 'x',
    };
    expect(rustImageEnv(docker, env)).toEqual({
      ...docker,
      RUSTUP_HOME: '/opt/rustup',
      CARGO_HOME: '/opt/cargo',
      RUSTUP_TOOLCHAIN: '1.95.0',
      FLOWTRACE_RUST_IMAGE_REBUILD: '1',
    });
  });
});
