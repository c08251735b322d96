"""Flux's graph followed as Flux follows it: the bootstrap forms, generated kustomizations, patches aimed at child
Kustomizations, sources and their ignore rules, scopes, duplicates, and what nothing deploys."""

from __future__ import annotations

from pathlib import Path

import pytest

from flux.repos import GIT_SOURCE, bootstrapped, configmap, kustomization, write
from ocw.errors import OcwError
from ocw.tree import Tree, load_tree

NAMESPACE = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n"


def refs(tree: Tree, name: str) -> list[str]:
    [built] = [b for b in tree.built if b.kustomization.name == name]
    return sorted(m.ref for m in built.manifests)


def rules(tree: Tree) -> list[tuple[str, str]]:
    return sorted((f.rule, f.file) for f in tree.all_findings())


def web_app(spec: str = "", meta: str = "") -> dict[str, str]:
    """An app the way home-ops repositories write them: a namespace folder listing its ks.yaml."""
    return {
        "kubernetes/apps/web/kustomization.yaml": "resources: [./namespace.yaml, ./site/ks.yaml]\n",
        "kubernetes/apps/web/namespace.yaml": NAMESPACE,
        "kubernetes/apps/web/site/ks.yaml": kustomization(
            "site", "./kubernetes/apps/web/site/app", spec="    targetNamespace: web\n" + spec, meta=meta
        ),
        "kubernetes/apps/web/site/app/kustomization.yaml": "resources: [./configmap.yaml]\n",
        "kubernetes/apps/web/site/app/configmap.yaml": configmap("site", "  host: site.${DOMAIN}\n"),
    }


def test_a_bootstrap_under_flux_is_followed_through_generated_kustomizations(tmp_path: Path) -> None:
    """kubernetes/flux and kubernetes/apps have no kustomization.yaml: Flux generates one of each."""
    tree = load_tree(bootstrapped(tmp_path, web_app()))
    assert tree.bootstrap is not None and tree.bootstrap.file.as_posix() == "kubernetes/flux/config/cluster.yaml"
    assert [ks.id for ks in tree.kustomizations] == ["flux-system/cluster", "flux-system/apps", "flux-system/site"]
    assert refs(tree, "cluster") == [
        "GitRepository/flux-system/home",
        "Kustomization/flux-system/apps",
        "Kustomization/flux-system/cluster",
    ]
    assert refs(tree, "apps") == ["Kustomization/flux-system/site", "Namespace/web"]
    assert refs(tree, "site") == ["ConfigMap/web/site"]
    assert tree.repository_urls == ["github.com/example/home"]
    assert not tree.all_findings()


def test_substitution_happens_only_with_post_build(tmp_path: Path) -> None:
    plain = load_tree(bootstrapped(tmp_path / "plain", web_app()))
    [site] = [m for m in plain.manifests() if m.ref == "ConfigMap/web/site"]
    assert site.obj["data"] == {"host": "site.${DOMAIN}"}  # Flux leaves it as written, and says nothing
    post_build = "    postBuild:\n        substitute: {DOMAIN: example.org}\n"
    substituted = load_tree(bootstrapped(tmp_path / "post", web_app(post_build)))
    [site] = [m for m in substituted.manifests() if m.ref == "ConfigMap/web/site"]
    assert site.obj["data"] == {"host": "site.example.org"}


def test_a_parents_patches_reach_the_children_its_label_selector_picks(tmp_path: Path) -> None:
    patch = """    patches:
      - patch: |-
          apiVersion: kustomize.toolkit.fluxcd.io/v1
          kind: Kustomization
          metadata: {name: not-used}
          spec:
            postBuild:
              substituteFrom: [{kind: ConfigMap, name: cluster-settings}]
        target:
          kind: Kustomization
          labelSelector: substitution.flux/disabled notin (true)
"""
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/flux/apps.yaml": kustomization("apps", "./kubernetes/apps", spec=patch),
            "kubernetes/flux/vars/kustomization.yaml": "resources: [./settings.yaml]\n",
            "kubernetes/flux/vars/settings.yaml": configmap(
                "cluster-settings", "  DOMAIN: example.net\n", namespace="flux-system"
            ),
        },
    )
    tree = load_tree(repo)
    [site] = [m for m in tree.manifests() if m.ref == "ConfigMap/web/site"]
    assert site.obj["data"] == {"host": "site.example.net"}
    assert tree.repo_vars.used == ["kubernetes/flux/vars/settings.yaml"]
    # A child the selector leaves out keeps its text.
    opted_out = web_app(meta="    labels: {substitution.flux/disabled: 'true'}\n")
    tree = load_tree(bootstrapped(tmp_path / "out", {**opted_out, **repo_files(repo)}))
    [site] = [m for m in tree.manifests() if m.ref == "ConfigMap/web/site"]
    assert site.obj["data"] == {"host": "site.${DOMAIN}"}


def repo_files(repo: Path) -> dict[str, str]:
    """The bootstrap-side files of a repository (everything but the app), to reuse with another app."""
    return {
        str(p.relative_to(repo)): p.read_text()
        for p in repo.rglob("*")
        if p.is_file() and "kubernetes/flux" in p.relative_to(repo).as_posix()
    }


def test_flux_bootstrap_clusters_need_cluster_to_pick_one(tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for cluster in ("production", "staging"):
        files[f"clusters/{cluster}/flux-system/gotk-sync.yaml"] = "# written by flux bootstrap\n"
        files[f"clusters/{cluster}/apps.yaml"] = kustomization("apps", f"./apps/{cluster}").replace(
            "name: home, namespace: flux-system", "name: flux-system"
        )
        files[f"apps/{cluster}/configmap.yaml"] = configmap(f"{cluster}-settings", namespace="default")
    repo = write(tmp_path, files)
    with pytest.raises(OcwError, match="bootstraps 2 clusters") as caught:
        load_tree(repo)
    assert "--cluster" in str(caught.value)
    tree = load_tree(repo, cluster="staging")
    assert [ks.id for ks in tree.kustomizations] == ["flux-system/flux-system", "flux-system/apps"]
    assert refs(tree, "apps") == ["ConfigMap/default/staging-settings"]
    assert not tree.all_findings()  # production's Kustomizations belong to the other cluster: not "unreached"


def test_a_flux_instance_sync_path_is_the_entry_point(tmp_path: Path) -> None:
    instance = """---
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata: {name: flux, namespace: flux-system}
spec:
  distribution: {version: 2.x, registry: ghcr.io/fluxcd}
  sync: {kind: GitRepository, url: "https://github.com/example/home.git", ref: refs/heads/main, path: cluster}
"""
    apps = kustomization("apps", "./apps").replace("name: home, namespace: flux-system", "name: flux-system")
    repo = write(
        tmp_path,
        {
            "bootstrap/flux-instance.yaml": instance,
            "cluster/apps.yaml": apps,
            "apps/configmap.yaml": configmap("settings", namespace="default"),
        },
    )
    tree = load_tree(repo)
    assert tree.bootstrap is not None and tree.bootstrap.form == "FluxInstance"
    assert [ks.id for ks in tree.kustomizations] == ["flux-system/flux-system", "flux-system/apps"]
    assert tree.repository_urls == ["github.com/example/home"]
    assert refs(tree, "apps") == ["ConfigMap/default/settings"]


def test_the_git_repositorys_ignore_rules_shape_the_generated_kustomization(tmp_path: Path) -> None:
    ignore = "  ignore: |\n    /*\n    !/kubernetes\n    /kubernetes/apps/web/site/app/draft.yaml\n"
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/flux/config/cluster.yaml": GIT_SOURCE + ignore + kustomization("cluster", "./kubernetes/flux"),
            "kubernetes/apps/web/site/app/kustomization.yaml": "",  # replaced by a folder Flux generates for
            "kubernetes/apps/web/site/app/draft.yaml": configmap("draft"),
            "kubernetes/apps/web/site/app/notes.txt": "not a manifest\n",
        },
    )
    (repo / "kubernetes/apps/web/site/app/kustomization.yaml").unlink()
    tree = load_tree(repo)
    assert refs(tree, "site") == ["ConfigMap/web/site"]  # draft.yaml is not in the artifact


def test_a_generated_kustomization_takes_every_folder_of_the_artifact(tmp_path: Path) -> None:
    """An image beside the namespace folders is left out of the artifact (a default exclusion): the folders around
    it are still all there for the generated kustomization."""
    blog = {
        "kubernetes/apps/blog/kustomization.yaml": "resources: [./namespace.yaml]\n",
        "kubernetes/apps/blog/namespace.yaml": NAMESPACE.replace("web", "blog"),
    }
    tree = load_tree(bootstrapped(tmp_path, {**web_app(), **blog, "kubernetes/apps/logo.png": "png"}))
    assert refs(tree, "apps") == ["Kustomization/flux-system/site", "Namespace/blog", "Namespace/web"]


def test_a_generated_kustomization_refuses_a_yaml_file_that_is_no_manifest(tmp_path: Path) -> None:
    repo = bootstrapped(tmp_path, {**web_app(), "kubernetes/apps/web/site/app/config.yaml": "port: 8080\n"})
    (repo / "kubernetes/apps/web/site/app/kustomization.yaml").unlink()
    [finding] = load_tree(repo).all_findings()
    assert (finding.rule, finding.file) == ("kustomize-build", "kubernetes/apps/web/site/app/config.yaml")
    assert "missing kind" in finding.message and "kustomization.yaml" in finding.message


def test_a_missing_ks_yaml_is_an_error_at_the_kustomization_listing_it_and_what_is_below_is_unreached(
    tmp_path: Path,
) -> None:
    repo = bootstrapped(tmp_path, web_app())
    listing = repo / "kubernetes/apps/web/kustomization.yaml"
    listing.write_text("resources: [./namespace.yaml, ./site/ks.yaml, ./blog/ks.yaml]\n")
    tree = load_tree(repo)
    assert rules(tree) == [
        ("flux-unreached", "kubernetes/apps/web/site/ks.yaml"),
        ("kustomize-build", "kubernetes/apps/web/kustomization.yaml"),
    ]
    [failed] = [f for f in tree.all_findings() if f.rule == "kustomize-build"]
    assert failed.object == "Kustomization/flux-system/apps" and "blog/ks.yaml" in failed.message


def test_kustomizations_nothing_deploys_are_one_warning_listing_them(tmp_path: Path) -> None:
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/apps/web/blog/ks.yaml": kustomization("blog", "./kubernetes/apps/web/blog/app"),
            "kubernetes/apps/web/shop/ks.yaml": kustomization("shop", "./kubernetes/apps/web/shop/app"),
        },
    )
    [finding] = load_tree(repo).all_findings()
    assert (finding.rule, finding.severity) == ("flux-unreached", "warning")
    assert "2 Flux Kustomization(s)" in finding.message
    assert "blog (kubernetes/apps/web/blog/ks.yaml)" in finding.message
    assert "shop (kubernetes/apps/web/shop/ks.yaml)" in finding.message


def test_a_cycle_is_followed_once(tmp_path: Path) -> None:
    """`cluster` builds kubernetes/flux, which holds `cluster` itself (Flux's own bootstrap is such a cycle); here
    `loop` also yields `apps`, which yields `loop`."""
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/apps/web/kustomization.yaml": "resources: [./namespace.yaml, ./site/ks.yaml, ./loop/ks.yaml]\n",
            "kubernetes/apps/web/loop/ks.yaml": kustomization("loop", "./kubernetes/apps/web/loop/app"),
            "kubernetes/apps/web/loop/app/kustomization.yaml": "resources: [./apps.yaml]\n",
            "kubernetes/apps/web/loop/app/apps.yaml": kustomization("apps", "./kubernetes/apps"),
        },
    )
    tree = load_tree(repo)
    assert sorted(ks.id for ks in tree.kustomizations) == [
        "flux-system/apps",
        "flux-system/cluster",
        "flux-system/loop",
        "flux-system/site",
    ]
    # `apps` is now applied by two Kustomizations: said once, naming both.
    [duplicate] = [f for f in tree.all_findings() if f.rule == "flux-duplicate"]
    assert duplicate.object == "Kustomization/flux-system/apps"
    assert "flux-system/cluster" in duplicate.message and "flux-system/loop" in duplicate.message


@pytest.mark.parametrize(
    ("metadata", "consequence"),
    [
        ("{name: web}", "pruning the Kustomization whose label it carries deletes it from under the other"),
        (
            "{name: web, labels: {kustomize.toolkit.fluxcd.io/prune: disabled}}",
            "its prune guard keeps either from deleting it",
        ),
    ],
)
def test_a_namespace_two_kustomizations_apply_says_whether_pruning_deletes_it(
    tmp_path: Path, metadata: str, consequence: str
) -> None:
    """The namespace folder creates `web`, and so does the app's own build (as jbaker48/k8s-cluster's arc-runners):
    both owners rewrite its labels; Flux deletes it on a prune unless it carries the prune guard."""
    namespace = NAMESPACE.replace("{name: web}", metadata)
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/apps/web/namespace.yaml": namespace,
            "kubernetes/apps/web/site/app/kustomization.yaml": "resources: [./namespace.yaml, ./configmap.yaml]\n",
            "kubernetes/apps/web/site/app/namespace.yaml": namespace,
        },
    )
    [duplicate] = [f for f in load_tree(repo).all_findings() if f.rule == "flux-duplicate"]
    assert duplicate.object == "Namespace/web"
    assert "flux-system/apps" in duplicate.message and "flux-system/site" in duplicate.message
    assert consequence in duplicate.message


def test_a_source_that_is_another_repository_is_one_warning(tmp_path: Path) -> None:
    other = GIT_SOURCE.replace("name: home", "name: other").replace("example/home", "example/other")
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/apps/web/other.yaml": other,
            "kubernetes/apps/web/remote/ks.yaml": kustomization("remote", "./deploy").replace(
                "name: home, namespace", "name: other, namespace"
            ),
            "kubernetes/apps/web/kustomization.yaml": (
                "resources: [./namespace.yaml, ./site/ks.yaml, ./other.yaml, ./remote/ks.yaml]\n"
            ),
        },
    )
    [finding] = load_tree(repo).all_findings()
    assert (finding.rule, finding.severity, finding.file) == (
        "flux-source",
        "warning",
        "kubernetes/apps/web/other.yaml",
    )
    assert "github.com/example/other" in finding.message and "flux-system/remote" in finding.message


def test_without_bootstrap_or_kustomization_nothing_is_checked(tmp_path: Path) -> None:
    write(tmp_path, {"kubernetes/apps/web/configmap.yaml": configmap("web")})
    with pytest.raises(OcwError) as caught:
        load_tree(tmp_path)
    assert caught.value.exit_code == 2
    text = str(caught.value)
    assert "gotk-sync.yaml" in text and "FluxInstance" in text and "kubernetes/flux" in text
    assert "--path DIR" in text and "--cluster NAME" in text


def test_path_names_the_entry_point(tmp_path: Path) -> None:
    """Kustomizations outside the folder named are none of its business: not "unreached"."""
    write(
        tmp_path,
        {
            "deploy/configmap.yaml": configmap("web", namespace="default"),
            "elsewhere/ks.yaml": kustomization("elsewhere", "./elsewhere/app"),
        },
    )
    tree = load_tree(tmp_path, path=Path("deploy"))
    assert [(ks.name, [m.ref for m in b.manifests]) for ks, b in zip(tree.kustomizations, tree.built, strict=True)] == [
        ("deploy", ["ConfigMap/default/web"])
    ]
    assert not tree.all_findings()
    with pytest.raises(OcwError, match="expected a folder"):
        load_tree(tmp_path, path=Path("nowhere"))


def test_scope_comes_from_the_kind_and_the_repositorys_crds(tmp_path: Path) -> None:
    crd = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}}
"""
    objects = """---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
spec: {selfSigned: {}}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: big}
spec: {size: 3}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: small}
"""
    repo = bootstrapped(
        tmp_path,
        {
            **web_app(),
            "kubernetes/apps/web/site/app/kustomization.yaml": (
                "resources: [./configmap.yaml, ./crd.yaml, ./objects.yaml]\n"
            ),
            "kubernetes/apps/web/site/app/crd.yaml": crd,
            "kubernetes/apps/web/site/app/objects.yaml": objects,
        },
    )
    tree = load_tree(repo)
    # kustomize stamps targetNamespace on every kind it does not know; the API server drops it on cluster-scoped ones.
    assert refs(tree, "site") == [
        "ClusterIssuer/letsencrypt",
        "ConfigMap/web/site",
        "CustomResourceDefinition/gadgets.example.com",
        "Gadget/big",
        "Widget/web/small",
    ]
    assert tree.crds.schema("example.com", "Gadget", "v1") is not None


def test_a_namespaced_object_without_namespace_fails_as_flux_says(tmp_path: Path) -> None:
    app = web_app()
    app["kubernetes/apps/web/site/ks.yaml"] = kustomization("site", "./kubernetes/apps/web/site/app")
    [finding] = load_tree(bootstrapped(tmp_path, app)).all_findings()
    assert (finding.rule, finding.file, finding.object) == (
        "flux-namespace",
        "kubernetes/apps/web/site/app/configmap.yaml",
        "ConfigMap/site",
    )
    assert "namespace not specified" in finding.message


def test_a_sops_secret_needs_decryption(tmp_path: Path) -> None:
    secret = """---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {TOKEN: "ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]"}
sops: {mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]", lastmodified: "2025-01-01T00:00:00Z"}
"""
    app = {
        **web_app(),
        "kubernetes/apps/web/site/app/kustomization.yaml": "resources: [./configmap.yaml, ./secret.sops.yaml]\n",
        "kubernetes/apps/web/site/app/secret.sops.yaml": secret,
    }
    [finding] = load_tree(bootstrapped(tmp_path / "plain", app)).all_findings()
    assert (finding.rule, finding.object) == ("flux-decryption", "Secret/web/token")
    decrypting = web_app("    decryption: {provider: sops}\n")
    tree = load_tree(
        bootstrapped(
            tmp_path / "decrypting",
            {
                **app,
                **decrypting,
                **{
                    "kubernetes/apps/web/site/app/kustomization.yaml": app[
                        "kubernetes/apps/web/site/app/kustomization.yaml"
                    ]
                },
            },
        )
    )
    assert not tree.all_findings()
    [token] = [m for m in tree.manifests() if m.kind == "Secret"]
    assert "sops" not in token.obj


def test_components_and_target_namespace_come_from_the_flux_spec(tmp_path: Path) -> None:
    component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [./extra.yaml]\n"
    repo = bootstrapped(
        tmp_path,
        {
            **web_app("    components: [../../../../components/extra]\n"),
            "kubernetes/components/extra/kustomization.yaml": component,
            "kubernetes/components/extra/extra.yaml": configmap("extra"),
        },
    )
    tree = load_tree(repo)
    assert refs(tree, "site") == ["ConfigMap/web/extra", "ConfigMap/web/site"]
    [extra] = [m for m in tree.manifests() if m.name == "extra"]
    assert extra.file == "kubernetes/components/extra/extra.yaml"


def test_an_artifact_generator_maps_its_external_artifacts(tmp_path: Path) -> None:
    generator = """---
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: split, namespace: flux-system}
spec:
  sources: [{alias: repo, kind: GitRepository, name: flux-system}]
  artifacts:
    - name: apps
      copy:
        - {from: "@repo/apps/base/**", to: "@artifact/base/"}
        - {from: "@repo/apps/production/**", to: "@artifact/production/"}
"""
    apps = kustomization("apps", "./production").replace(
        "sourceRef: {kind: GitRepository, name: home, namespace: flux-system}",
        "sourceRef: {kind: ExternalArtifact, name: apps}",
    )
    repo = write(
        tmp_path,
        {
            "clusters/production/flux-system/gotk-sync.yaml": "# written by flux bootstrap\n",
            "clusters/production/artifacts.yaml": generator,
            "clusters/production/apps.yaml": apps,
            "apps/base/configmap.yaml": configmap("base", namespace="default"),
            "apps/base/kustomization.yaml": "resources: [./configmap.yaml]\n",
            "apps/production/kustomization.yaml": "resources: [../base]\n",
        },
    )
    tree = load_tree(repo)
    [base] = [m for m in tree.manifests() if m.kind == "ConfigMap"]
    assert (base.kustomization, base.file) == ("apps", "apps/base/configmap.yaml")
    assert not tree.all_findings()


def test_fields_of_the_wrong_shape_are_no_crash(tmp_path: Path) -> None:
    """A Kustomization whose spec fields are strings, numbers or lists where maps and lists belong: Flux refuses
    it (the schema check says why); following the graph goes on."""
    weird = kustomization(
        "weird",
        "5",
        spec="""    sourceRef: home
    targetNamespace: [a]
    postBuild: {substitute: [1, 2], substituteFrom: x}
    patches: z
    components: 7
    images: [1]
    dependsOn: [1, {name: 2}]
    commonMetadata: {labels: [1]}
""",
    ).replace("    sourceRef: {kind: GitRepository, name: home, namespace: flux-system}\n", "")
    listed = "resources: [./namespace.yaml, ./site/ks.yaml, ./weird.yaml]\n"
    tree = load_tree(
        bootstrapped(
            tmp_path,
            {**web_app(), "kubernetes/apps/web/weird.yaml": weird, "kubernetes/apps/web/kustomization.yaml": listed},
        )
    )
    [weird_ks] = [ks for ks in tree.kustomizations if ks.name == "weird"]
    assert weird_ks.target_namespace is None and weird_ks.substitute == {} and weird_ks.source is None
    assert [(f.rule, f.object) for f in tree.all_findings()] == [("flux-source", "Kustomization/flux-system/weird")]
