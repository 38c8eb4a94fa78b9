"""`pipewright --aws pull` against moto, a real AWS-protocol server (CodePipeline and CodeBuild),
with a front that answers ListActionExecutions as AWS does (moto has no such operation): a
real-shaped pipeline pulled from inside its git repository, then run here as it was pulled.
Run with tests/aws/run.sh."""

import json
import os
import subprocess
import tempfile
import unittest
import io
import zipfile

from servers import Front, Moto

CLI = os.environ["PIPEWRIGHT_CLI"]
ROLE_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})

# A buildspec kept in the project (inline), with a block string as people write them.
INLINE_BUILDSPEC = """version: 0.2
env:
  variables:
    STAGE_NAME: from-the-buildspec
phases:
  build:
    commands:
      - |
        echo "$GREETING from $STAGE_NAME with ${#DB_PASSWORD}-character password" > out.txt
      - cat wip.txt >> out.txt
artifacts:
  files: out.txt
"""


def action(name, category, provider, owner="AWS", **more):
    return dict(name=name, actionTypeId={"category": category, "owner": owner, "provider": provider, "version": "1"},
                runOrder=more.pop("runOrder", 1), **more)


class PullTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto()
        cls.front = Front(cls.moto)
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       PIPEWRIGHT_DATA_DIR=tempfile.mkdtemp(prefix="pipewright-pull-"))
        iam = cls.moto.client("iam")
        cls.role_arn = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
        build_role = iam.create_role(RoleName="build", AssumeRolePolicyDocument=ROLE_POLICY.replace(
            "codepipeline", "codebuild"))["Role"]["Arn"]
        codebuild = cls.moto.client("codebuild")
        codebuild.create_project(
            name="shop-build", serviceRole=build_role, artifacts={"type": "NO_ARTIFACTS"},
            source={"type": "CODEPIPELINE", "location": "pipeline", "buildspec": INLINE_BUILDSPEC},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True,
                         "environmentVariables": [
                             {"name": "STAGE_NAME", "value": "prod", "type": "PLAINTEXT"},
                             {"name": "DB_PASSWORD", "value": "/shop/db/password", "type": "PARAMETER_STORE"}]})
        codebuild.create_project(
            name="shop-smoke", serviceRole=build_role, artifacts={"type": "NO_ARTIFACTS"},
            source={"type": "CODEPIPELINE", "location": "pipeline", "buildspec": "ci/smoke.yml"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0",
                         "computeType": "BUILD_GENERAL1_SMALL"})

    @classmethod
    def tearDownClass(cls):
        cls.front.stop()
        cls.moto.stop()

    def pipewright(self, *args, cwd=None, aws=True):
        prefix = ["--aws", "--endpoint-url", self.front.endpoint, "--region", "us-east-1"] if aws else []
        return subprocess.run([CLI, *prefix, *args], env=self.env, capture_output=True, text=True, cwd=cwd)

    def test_a_pulled_pipeline_runs_here_with_its_projects_and_the_outputs_it_had_on_aws(self):
        self.create_shop()
        # What the latest run on AWS reported: the stack's outputs (and an older, failed run).
        self.front.action_executions = [
            self.stack_run("e-new", "Failed", {}),
            self.stack_run("e-good", "Succeeded", {"ApiUrl": "https://api.example.com/prod", "StackName": "shop"}),
            self.stack_run("e-old", "Succeeded", {"ApiUrl": "https://old.example.com", "StackName": "shop"}),
        ]

        # The repository a developer pulls from: a commit, then uncommitted work.
        repo = tempfile.mkdtemp(prefix="pipewright-shop-")
        git = lambda *args: subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True)
        git("init", "-q", "-b", "main")
        os.makedirs(os.path.join(repo, "ci"))
        with open(os.path.join(repo, "ci", "smoke.yml"), "w") as f:
            f.write("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"smoke test of $API_URL\"\n")
        with open(os.path.join(repo, "wip.txt"), "w") as f:
            f.write("committed\n")
        git("add", ".")
        git("-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "shop")
        with open(os.path.join(repo, "wip.txt"), "w") as f:
            f.write("not committed yet\n")
        tools = tempfile.mkdtemp(prefix="pipewright-tools-")

        pulled = self.pipewright("pull", "shop", "--dir", "pulled", "--source", f"Source/Tools={tools}", cwd=repo)
        self.assertEqual(pulled.returncode, 0, pulled.stdout + pulled.stderr)
        out = pulled.stdout
        self.assertIn("the buildspec of CodeBuild project shop-build (Build/Compile)", out)
        self.assertIn("Source/Tools: OAuthToken is masked (****)", out)
        self.assertIn("DB_PASSWORD reads Parameter Store /shop/db/password", out)
        self.assertIn("ApiUrl=https://api.example.com/prod", out)
        self.assertIn("(as in execution e-good on AWS)", out)
        self.assertIn("Run it here: pipewright run pulled/shop.json", out)

        folder = os.path.join(repo, "pulled")
        with open(os.path.join(folder, "shop.json")) as f:
            written = json.load(f)
        on_aws = self.moto.client("codepipeline").get_pipeline(name="shop")["pipeline"]
        on_aws.pop("version")
        self.assertEqual(written, json.loads(json.dumps(on_aws)), "the declaration is as AWS keeps it")
        with open(os.path.join(folder, "shop.Build+Compile.buildspec.yml")) as f:
            self.assertEqual(f.read(), INLINE_BUILDSPEC)
        settings = self.settings(folder)
        compile_ = settings["actions"]["Build/Compile"]
        self.assertEqual(compile_["buildspec"], "shop.Build+Compile.buildspec.yml")
        self.assertEqual(compile_["image"], "public.ecr.aws/codebuild/standard:7.0")
        self.assertTrue(compile_["privileged"])
        self.assertEqual(compile_["environmentVariables"],
                         {"STAGE_NAME": "prod", "DB_PASSWORD": {"parameterStore": "/shop/db/password"}})
        self.assertEqual(settings["actions"]["Build/Compile"].get("sourceBuildspec"), None)
        self.assertEqual(settings["actions"]["Deploy/Smoke"]["sourceBuildspec"], "ci/smoke.yml")
        self.assertEqual(settings["actions"]["Deploy/Smoke"]["image"],
                         "public.ecr.aws/codebuild/amazonlinux2-x86_64-standard:5.0")
        self.assertEqual(settings["actions"]["Deploy/Stack"],
                         {"simulate": True, "outputVariables": {"ApiUrl": "https://api.example.com/prod", "StackName": "shop"}})
        self.assertEqual(settings["actions"]["Source/App"], {"path": "..", "workingCopy": True})

        # The password the project reads from Parameter Store, given here; then the pulled
        # pipeline runs without a question (stdin is no terminal: a question would refuse).
        with open(os.path.join(folder, "shop.pipewright.yaml"), "a") as f:
            f.write("parameterStore:\n  /shop/db/password: s3cret\n")
        # A newer run on AWS, then a second pull: the simulated stack reports what that run
        # reported, and what was added to the settings stays.
        self.front.action_executions.insert(0, self.stack_run(
            "e-newer", "Succeeded", {"ApiUrl": "https://api.example.com/prod", "StackName": "shop", "Version": "7"}))
        again = self.pipewright("pull", "shop", "--dir", "pulled", "--source", f"Source/Tools={tools}", cwd=repo)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertNotIn("DB_PASSWORD reads Parameter Store", again.stdout, "the value is given now")
        self.assertIn("(as in execution e-newer on AWS)", again.stdout)
        refreshed = self.settings(folder)
        self.assertEqual(refreshed["parameterStore"], {"/shop/db/password": "s3cret"})
        self.assertEqual(refreshed["actions"]["Deploy/Stack"]["outputVariables"]["Version"], "7")
        del refreshed["actions"]["Deploy/Stack"]
        del settings["actions"]["Deploy/Stack"]
        self.assertEqual(refreshed["actions"], settings["actions"])
        ran = self.pipewright("run", "pulled/shop.json", "--host", cwd=repo, aws=False)
        self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)
        self.assertNotIn("needs a local plan", ran.stderr)

        logs = self.pipewright("logs", "shop", cwd=repo, aws=False).stdout
        self.assertIn("smoke test of https://api.example.com/prod", logs, "the smoke build read the stack's output from AWS")
        self.assertNotIn("s3cret", logs, "a Parameter Store value is masked in the log")
        built = subprocess.run([CLI, "artifacts", "shop", "--export", "BuildOutput", "--output", os.path.join(repo, "out.zip")],
                               env=self.env, capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stderr)
        text = subprocess.run(["unzip", "-p", os.path.join(repo, "out.zip"), "out.txt"], capture_output=True, text=True).stdout
        # The project's STAGE_NAME overrides the buildspec's, the action's GREETING comes with
        # the source's variable resolved, and the uncommitted file was built.
        self.assertEqual(text, "hello main from prod with 6-character password\nnot committed yet\n")

    def create_shop(self):
        """The pipeline on AWS (once for the class's moto)."""
        if getattr(PullTest, "created", False):
            return
        # As get-pipeline shows a real one: a connection source, a GitHub (v1) source whose token
        # AWS masks, nested JSON in a string, a deploy with no local runner whose variables a
        # later build reads, and no runOrder on two actions.
        declaration = {
            "name": "shop", "roleArn": self.role_arn, "pipelineType": "V2",
            "artifactStore": {"type": "S3", "location": "codepipeline-us-east-1-123456789012"},
            "stages": [
                {"name": "Source", "actions": [
                    action("App", "Source", "CodeStarSourceConnection", outputArtifacts=[{"name": "SourceOutput"}],
                           namespace="SourceVariables", configuration={
                               "ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
                               "FullRepositoryId": "acme/shop", "BranchName": "main",
                               "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "false"}),
                    action("Tools", "Source", "GitHub", owner="ThirdParty", outputArtifacts=[{"name": "ToolsOutput"}],
                           configuration={"Owner": "acme", "Repo": "tools", "Branch": "main",
                                          "OAuthToken": "****", "PollForSourceChanges": "false"})]},
                {"name": "Build", "actions": [
                    action("Compile", "Build", "CodeBuild", inputArtifacts=[{"name": "SourceOutput"}],
                           outputArtifacts=[{"name": "BuildOutput"}], configuration={
                               "ProjectName": "shop-build",
                               "EnvironmentVariables": json.dumps([
                                   {"name": "GREETING", "value": "hello #{SourceVariables.BranchName}", "type": "PLAINTEXT"}])}),
                    action("Lint", "Compute", "Commands", inputArtifacts=[{"name": "SourceOutput"}],
                           commands=["echo \"lint of #{SourceVariables.CommitId} on #{SourceVariables.BranchName}\"", "test -f wip.txt"])]},
                {"name": "Deploy", "actions": [
                    action("Stack", "Deploy", "CloudFormation", inputArtifacts=[{"name": "BuildOutput"}],
                           namespace="StackVars", configuration={
                               "ActionMode": "CREATE_UPDATE", "StackName": "shop", "Capabilities": "CAPABILITY_IAM",
                               "RoleArn": self.role_arn, "TemplatePath": "BuildOutput::template.yml"}),
                    action("Smoke", "Test", "CodeBuild", runOrder=2, inputArtifacts=[{"name": "SourceOutput"}],
                           configuration={"ProjectName": "shop-smoke", "EnvironmentVariables": json.dumps([
                               {"name": "API_URL", "value": "#{StackVars.ApiUrl}", "type": "PLAINTEXT"}])})]},
            ],
        }
        for stage in declaration["stages"]:
            for a in stage["actions"]:
                if a["name"] in ("Compile", "Stack"):
                    del a["runOrder"]
        self.moto.client("codepipeline").create_pipeline(pipeline=declaration)
        PullTest.created = True

    def test_a_failed_action_of_an_aws_execution_is_replayed_here_with_its_inputs(self):
        self.create_shop()
        s3 = self.moto.client("s3")
        s3.create_bucket(Bucket="codepipeline-us-east-1-123456789012")
        source = io.BytesIO()
        with zipfile.ZipFile(source, "w") as z:
            z.writestr("wip.txt", "as the source was on AWS\n")
        s3.put_object(Bucket="codepipeline-us-east-1-123456789012", Key="shop/SourceOutp/Ab12Cd3", Body=source.getvalue())
        location = {"bucket": "codepipeline-us-east-1-123456789012", "key": "shop/SourceOutp/Ab12Cd3"}
        source_run = self.run_of("e-fail", "Source", "App", "Succeeded", namespace="SourceVariables",
                                 variables={"CommitId": "0a1b2c3d", "BranchName": "release"})
        lint = self.run_of("e-fail", "Build", "Lint", "Failed", inputs=[{"name": "SourceOutput", "s3location": location}])
        lint["output"]["executionResult"] = {"externalExecutionSummary": "Command did not exit successfully"}
        compile_ = self.run_of("e-fail", "Build", "Compile", "Failed", inputs=[{"name": "SourceOutput", "s3location": location}],
                               resolved={"ProjectName": "shop-build", "EnvironmentVariables": json.dumps(
                                   [{"name": "GREETING", "value": "hello release", "type": "PLAINTEXT"}])})
        self.front.action_executions = [lint, compile_, source_run]

        work = tempfile.mkdtemp(prefix="pipewright-replay-")
        replayed = self.pipewright("replay", "shop", "Build/Lint", "--dir", os.path.join(work, "lint"), "--host")
        self.assertEqual(replayed.returncode, 0, replayed.stdout + replayed.stderr)
        self.assertIn("Replaying Build/Lint of shop execution e-fail", replayed.stderr)
        self.assertIn("(Failed there: Command did not exit successfully)", replayed.stderr)
        self.assertIn("input SourceOutput  s3://codepipeline-us-east-1-123456789012/shop/SourceOutp/Ab12Cd3", replayed.stderr)
        name = "shop.replay.Build.Lint"
        logs = subprocess.run([CLI, "logs", name], env=self.env, capture_output=True, text=True).stdout
        self.assertIn("lint of 0a1b2c3d on release", logs, "the references are filled from the execution on AWS")

        replayed = self.pipewright("replay", "shop", "Build/Compile", "--execution", "e-fail",
                                   "--dir", os.path.join(work, "compile"), "--host")
        self.assertEqual(replayed.returncode, 0, replayed.stdout + replayed.stderr)
        self.assertIn("project shop-build: runs its inline buildspec", replayed.stderr)
        out = os.path.join(work, "out.zip")
        exported = subprocess.run([CLI, "artifacts", "shop.replay.Build.Compile", "--export", "BuildOutput", "--output", out],
                                  env=self.env, capture_output=True, text=True)
        self.assertEqual(exported.returncode, 0, exported.stderr)
        with zipfile.ZipFile(out) as z:
            # The resolved GREETING of the run on AWS, the project's STAGE_NAME, no password
            # (the settings give none), and the input as it was on AWS.
            self.assertEqual(z.read("out.txt").decode(),
                             "hello release from prod with 0-character password\nas the source was on AWS\n")

        missing = self.pipewright("replay", "shop", "Deploy/Smoke", "--execution", "e-fail")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("execution e-fail of shop did not run Deploy/Smoke", missing.stderr)

    def run_of(self, execution, stage, action_name, status, namespace=None, variables=None, inputs=None, resolved=None):
        return {
            "pipelineName": "shop", "pipelineExecutionId": execution, "actionExecutionId": f"{execution}-{action_name}",
            "pipelineVersion": 1, "stageName": stage, "actionName": action_name,
            "startTime": 1764000000.0, "lastUpdateTime": 1764000060.0, "status": status,
            "input": {"actionTypeId": {"category": "Build", "owner": "AWS", "provider": "X", "version": "1"},
                      "configuration": resolved or {}, "resolvedConfiguration": resolved or {},
                      "region": "us-east-1", **({"namespace": namespace} if namespace else {}),
                      "inputArtifacts": inputs or []},
            "output": {"outputArtifacts": [], "executionResult": {}, "outputVariables": variables or {}},
        }

    def stack_run(self, execution, status, variables):
        return {
            "pipelineName": "shop", "pipelineExecutionId": execution, "actionExecutionId": f"{execution}-stack",
            "pipelineVersion": 1, "stageName": "Deploy", "actionName": "Stack",
            "startTime": 1764000000.0, "lastUpdateTime": 1764000060.0, "status": status,
            "input": {"actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
                      "configuration": {"StackName": "shop"}, "resolvedConfiguration": {"StackName": "shop"},
                      "region": "us-east-1", "namespace": "StackVars",
                      "inputArtifacts": [{"name": "BuildOutput", "s3location": {
                          "bucket": "codepipeline-us-east-1-123456789012", "key": "shop/BuildOutpu/AbCdEfG"}}]},
            "output": {"outputArtifacts": [], "executionResult": {"externalExecutionSummary": "Stack updated"},
                       "outputVariables": variables},
        }

    def settings(self, folder):
        # PyYAML comes with the AWS CLI in the test environment.
        import yaml
        with open(os.path.join(folder, "shop.pipewright.yaml")) as f:
            return yaml.safe_load(f)


if __name__ == "__main__":
    unittest.main()
