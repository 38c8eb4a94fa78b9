import { describe, expect, it } from "vitest";

import { fieldsOf, PROVIDERS, specOf } from "./providers";

const id = (category: string, provider: string, owner = "AWS") => ({ category, owner, provider, version: "1" });

describe("action forms from the catalog of action types", () => {
  it("every palette entry is an action type the catalog knows", () => {
    const missing = PROVIDERS.filter((p) => !specOf(p)).map((p) => `${p.category}/${p.provider}`);
    expect(missing).toEqual([]);
  });

  it("marks required properties and lists them first", () => {
    const fields = fieldsOf(id("Deploy", "CodeDeploy"));
    expect(fields.map((f) => [f.key, f.label, f.required])).toEqual([
      ["ApplicationName", "Application name", true],
      ["DeploymentGroupName", "Deployment group name", true],
    ]);
    const cfn = fieldsOf(id("Deploy", "CloudFormation"));
    expect(cfn.slice(0, 2).map((f) => f.key)).toEqual(["ActionMode", "StackName"]);
    expect(cfn.find((f) => f.key === "ActionMode")?.allowedValues).toContain("CREATE_UPDATE");
    expect(cfn.find((f) => f.key === "RoleArn")?.label).toBe("Role ARN");
  });

  it("types secrets unseen", () => {
    const github = fieldsOf(id("Source", "GitHub", "ThirdParty"));
    expect(github.find((f) => f.key === "OAuthToken")?.secret).toBe(true);
    expect(github.find((f) => f.key === "Repo")?.secret).toBe(false);
  });

  it("has no form for a type the catalog does not know", () => {
    expect(fieldsOf(id("Deploy", "NoSuchService"))).toEqual([]);
  });
});
