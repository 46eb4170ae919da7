using System.Net;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Identity;

/// <summary><c>GET /admin/v1/users?phone=</c>: the account holding a phone, masked; nobody is an empty list; risk and support only.</summary>
public abstract class FindUserByPhoneTests<THost>(THost host) : IClassFixture<THost> where THost : SecureHost
{
    [Fact]
    public async Task Finds_the_holder_masked_and_refuses_bad_phones_and_other_roles()
    {
        var http = host.CreateClient();
        var user = await SecureUser.CreateAsync(http, host.OperatorKey, name: "王小明");
        var support = await OperatorSupport.CreateAsync(host, http, "support");

        var found = await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users?phone=" + user.Phone, support.AccessToken).JsonAsync();
        var item = found["items"]!.AsArray().ShouldHaveSingleItem()!;
        item["id"]!.GetValue<Guid>().ShouldBe(user.UserId);
        item["name_masked"]!.GetValue<string>().ShouldNotContain("小明");
        var masked = item["phone_masked"]!.GetValue<string>();
        masked.ShouldContain("*");
        masked.ShouldNotContain(user.Phone);
        masked.ShouldEndWith(user.Phone[^4..]);
        item.AsObject().ContainsKey("phone").ShouldBeFalse();

        // The same number written the international way finds the same account; an unused one finds nobody.
        (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users?phone=%2B86" + user.Phone, support.AccessToken).JsonAsync())["items"]!
            .AsArray().ShouldHaveSingleItem()!["id"]!.GetValue<Guid>().ShouldBe(user.UserId);
        (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users?phone=" + SecureUser.NewPhone(), support.AccessToken).JsonAsync())["items"]!
            .AsArray().ShouldBeEmpty();

        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users?phone=12345", support.AccessToken)).ShouldBeProblemAsync(400, "invalid_phone");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users", support.AccessToken)).ShouldBeProblemAsync(400, "invalid_phone");
        var finance = await OperatorSupport.CreateAsync(host, http, "finance");
        await (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users?phone=" + user.Phone, finance.AccessToken)).ShouldBeProblemAsync(403, "forbidden");
        (await OperatorSupport.SendAsync(http, HttpMethod.Get, "/admin/v1/users?phone=" + user.Phone, null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}

public sealed class SqliteFindUserByPhoneTests(SecureSqliteHost host) : FindUserByPhoneTests<SecureSqliteHost>(host);

public sealed class PostgresFindUserByPhoneTests(SecurePostgresHost host) : FindUserByPhoneTests<SecurePostgresHost>(host);
