{
  description = "envbuild: lock Python environments and build them onto your base image with BuildKit";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # The one place the Go modules' hash lives: update it when go.sum changes
      # (nix build prints the right value).
      vendorHash = nixpkgs.lib.fakeHash;
    in
    {
      packages = forAll (pkgs: {
        default = pkgs.buildGoModule {
          pname = "envbuild";
          version = self.shortRev or "dirty";
          src = ./.;
          inherit vendorHash;
          subPackages = [ "cmd/envbuild" ];
          env.CGO_ENABLED = 0;
          ldflags = [ "-s" "-w" ];
        };
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [ go gopls runc debootstrap docker-distribution python3 ];
        };
      });
    };
}
