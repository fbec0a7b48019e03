// What the mapping-shape tests share: a session policy that narrows the session (a Condition on the VPC, a number, a
// boolean), to be written plainly or with its parts in other shapes.
export const POLICY = {
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*',
    Condition: { StringEquals: { 'aws:SourceVpc': 'vpc-1' }, NumericLessThan: { 's3:max-keys': 10 }, Bool: { 'aws:SecureTransport': true } },
  }],
}
