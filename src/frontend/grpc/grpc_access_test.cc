#include "frontend/grpc/grpc_access.h"

#include <gtest/gtest.h>

namespace modelmux {
namespace {

TEST(GrpcAccessTest, EveryMethodOfTheServiceHasItsClass) {
  for (const char* method : {"ServerLive", "ServerReady"}) {
    EXPECT_EQ(ClassOfGrpcMethod(method), GrpcMethodClass::kOpen) << method;
  }
  for (const char* method :
       {"ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer", "RepositoryIndex"}) {
    EXPECT_EQ(ClassOfGrpcMethod(method), GrpcMethodClass::kApi) << method;
  }
  for (const char* method : {"RepositoryModelLoad", "RepositoryModelUnload"}) {
    EXPECT_EQ(ClassOfGrpcMethod(method), GrpcMethodClass::kManagement) << method;
  }
}

TEST(GrpcAccessTest, AMethodNotClassifiedIsClosed) {
  for (const char* method :
       {"", "ModelStreamInfer", "CudaSharedMemoryRegister", "serverlive", "ModelInfer "}) {
    EXPECT_EQ(ClassOfGrpcMethod(method), GrpcMethodClass::kManagement) << "'" << method << "'";
  }
}

}  // namespace
}  // namespace modelmux
